// The MPI world of a data-parallel training run (`mpirun -np N llada train ...`), as the trainer's
// Collective. Built only when CMake finds MPI (Debian's libopenmpi-dev): llada_dist.
#pragma once
#include <memory>
#include <vector>

#include "train/collective.h"

namespace llada::dist {

class MpiWorld : public train::Collective {
 public:
  // Initialises MPI when this process was started by an MPI launcher (mpirun sets its rank in the
  // environment); null for a plain process, which then trains alone without touching MPI.
  static std::unique_ptr<MpiWorld> from_launcher();
  ~MpiWorld() override;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // Power-of-two worlds: a butterfly (at level l every rank swaps its partial sum with rank ^ 2^l
  // and adds; a + b equals b + a bit for bit, so all ranks agree and the order is the one
  // MicroBatchSum uses in a single process). Other sizes: MPI_Allreduce, whose order MPI chooses
  // (close to, not bit-equal with, one process). Both in buckets of kBucketFloats.
  void sum(float* data, size_t n, double* scalar) override;
  bool any(bool flag) override;
  double seconds_in_sum() const override { return seconds_in_sum_; }
  double seconds_waiting() const override { return seconds_waiting_; }
  // Processes of this world on this machine (to split the cores between them).
  int local_size() const { return local_size_; }
  // Ends every rank of the job now (after an error on this one, so that none waits forever).
  [[noreturn]] void abort(int code);

  static constexpr size_t kBucketFloats = size_t(1) << 21;  // 8 MB per message

 private:
  MpiWorld();
  int rank_ = 0, size_ = 1, local_size_ = 1;
  double seconds_in_sum_ = 0, seconds_waiting_ = 0;
  std::vector<float> scratch_;
};

}  // namespace llada::dist
