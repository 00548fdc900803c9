// Gradients in one flat buffer, and the fixed-order sum of a step's micro-batch gradients.
//
// Data parallelism must not change the numbers: a step's gradient is the sum of its micro-batches'
// gradients, and floating-point sums depend on their order. MicroBatchSum fixes that order as a
// pairwise tree over the micro-batches in index order (each micro-batch's gradient is formed alone,
// then equal-sized neighbours are added, lower + upper). A rank that owns an aligned power-of-two
// block of micro-batches forms exactly one subtree of that tree, and a power-of-two world adds the
// ranks' subtrees pairwise (Collective::sum), so one process and N processes produce the same bits
// whenever grad_accum and N are powers of two.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "model/weights.h"

namespace llada::train {

// Weights (F32, the layout of `like`) whose tensors are views into one aligned arena, so the
// whole gradient is a single span for a reduction.
struct FlatWeights {
  Weights w;
  float* data = nullptr;
  size_t n = 0;  // floats in the arena (tensors start on 64-byte boundaries; the gaps stay zero)

  static FlatWeights like(const Weights& like);
  void zero();
};

class MicroBatchSum {
 public:
  explicit MicroBatchSum(const Weights& like) : like_(&like) {}
  // A zeroed gradient for the next micro-batch (the backward accumulates into it).
  Weights& begin_leaf();
  // That micro-batch is done: it joins the tree with its loss.
  void end_leaf(double loss);
  // The sum of every leaf since the last finish(), and the sum of their losses. Needs >= 1 leaf.
  FlatWeights& finish(double* loss);
  // Buffers allocated so far (at most log2(leaves) + 1; one when each step has one micro-batch).
  size_t buffers() const { return pool_.size(); }

 private:
  struct Node {
    size_t leaves;
    double loss;
  };
  void merge_top();
  const Weights* like_;
  std::vector<std::unique_ptr<FlatWeights>> pool_;  // pool_[i] holds stack_[i]'s partial sum
  std::vector<Node> stack_;
};

}  // namespace llada::train
