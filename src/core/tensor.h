// A named, shaped view of memory with a dtype. Storage is either owned (an aligned buffer) or borrowed
// (a memory-mapped file region kept alive by `keepalive`). Weights, gradients and optimizer moments
// are all Tensors so one list of them drives load, save, init and the optimizer.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace llada {

struct Tensor {
  std::string name;
  std::vector<int64_t> shape;
  DType dtype = DType::F32;
  void* data = nullptr;
  std::shared_ptr<void> keepalive;  // owns `data` (aligned buffer) or the mapping it points into
  // I8 matrices only: the F32 dequantisation scale of each row (output channel), [rows].
  std::shared_ptr<const Tensor> row_scales;

  int64_t numel() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype); }
  bool empty() const { return data == nullptr; }
  int64_t rows() const { return shape.empty() ? 0 : shape[0]; }
  int64_t cols() const { return shape.size() < 2 ? 1 : shape[1]; }
  float* f32() const { return static_cast<float*>(data); }
  std::string shape_str() const;  // "[4096, 11008]"

  // A fresh zero-filled, 64-byte-aligned tensor that owns its memory.
  static Tensor zeros(std::string name, std::vector<int64_t> shape, DType dtype = DType::F32);
};

// 64-byte aligned allocation owned by a shared_ptr.
std::shared_ptr<void> aligned_alloc_shared(size_t bytes);

}  // namespace llada
