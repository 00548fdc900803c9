// The ranks of a data-parallel run, as the trainer sees them. The trainer never names MPI: the
// MPI world (src/dist/mpi_collective.h) implements this interface, and the tests use an in-process
// one. A run without a Collective is one process.
#pragma once
#include <cstddef>

namespace llada::train {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Sums `n` floats and one double over every rank, in place; every rank ends with the same bits.
  // With a power-of-two world the order is the fixed pairwise tree of MicroBatchSum (grad_sum.h),
  // so the sum equals the one a single process forms over the same micro-batches.
  virtual void sum(float* data, size_t n, double* scalar) = 0;
  // True on every rank when `flag` is true on any (a stop request reaches every rank at one step).
  virtual bool any(bool flag) = 0;
  // Seconds spent inside sum() so far exchanging data, and waiting there for the slowest rank to
  // arrive (load imbalance, not communication).
  virtual double seconds_in_sum() const = 0;
  virtual double seconds_waiting() const { return 0; }
};

}  // namespace llada::train
