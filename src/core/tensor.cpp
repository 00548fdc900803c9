#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace llada {

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string Tensor::shape_str() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::shared_ptr<void> aligned_alloc_shared(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded ? rounded : 64);
  if (!p) throw std::bad_alloc();
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

Tensor Tensor::zeros(std::string name, std::vector<int64_t> shape, DType dtype) {
  Tensor t;
  t.name = std::move(name);
  t.shape = std::move(shape);
  t.dtype = dtype;
  t.keepalive = aligned_alloc_shared(t.nbytes());
  t.data = t.keepalive.get();
  std::memset(t.data, 0, t.nbytes());
  return t;
}

}  // namespace llada
