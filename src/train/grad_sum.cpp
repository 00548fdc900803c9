#include "train/grad_sum.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace llada::train {

FlatWeights FlatWeights::like(const Weights& like) {
  constexpr size_t kAlign = 16;  // floats: 64 bytes
  auto padded = [](const Tensor& t) { return (size_t(t.numel()) + kAlign - 1) / kAlign * kAlign; };
  FlatWeights f;
  size_t total = 0;
  like.for_each([&](const Tensor& t) { total += padded(t); });
  std::shared_ptr<void> arena = aligned_alloc_shared(std::max<size_t>(total, 1) * sizeof(float));
  f.data = static_cast<float*>(arena.get());
  f.n = total;
  // The layout of `like` (names, shapes, tying), each tensor a view into the arena.
  f.w = like;
  size_t off = 0;
  f.w.for_each([&](Tensor& t) {
    const size_t n = padded(t);
    t.dtype = DType::F32;
    t.data = f.data + off;
    t.keepalive = arena;
    t.row_scales.reset();
    off += n;
  });
  f.zero();
  return f;
}

void FlatWeights::zero() { std::memset(data, 0, n * sizeof(float)); }

Weights& MicroBatchSum::begin_leaf() {
  const size_t i = stack_.size();
  if (pool_.size() <= i) pool_.push_back(std::make_unique<FlatWeights>(FlatWeights::like(*like_)));
  pool_[i]->zero();
  return pool_[i]->w;
}

void MicroBatchSum::merge_top() {
  const size_t hi = stack_.size() - 1, lo = hi - 1;
  float* a = pool_[lo]->data;
  const float* b = pool_[hi]->data;
  const int64_t n = int64_t(pool_[lo]->n);
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) a[i] += b[i];
  stack_[lo].leaves += stack_[hi].leaves;
  stack_[lo].loss += stack_[hi].loss;
  stack_.pop_back();
}

void MicroBatchSum::end_leaf(double loss) {
  LLADA_ASSERT(stack_.size() < pool_.size());
  stack_.push_back({1, loss});
  while (stack_.size() >= 2 && stack_[stack_.size() - 1].leaves == stack_[stack_.size() - 2].leaves) merge_top();
}

FlatWeights& MicroBatchSum::finish(double* loss) {
  LLADA_CHECK(!stack_.empty(), "MicroBatchSum::finish: no micro-batch gradient to sum");
  while (stack_.size() >= 2) merge_top();  // uneven counts: the smaller partial sums join upwards
  *loss = stack_[0].loss;
  stack_.clear();
  return *pool_[0];
}

}  // namespace llada::train
