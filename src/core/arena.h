// A bump allocator for activations and scratch: the hot path carves buffers out of one block that is
// sized on first use and then reused, so steady-state forward/backward calls allocate nothing.
#pragma once
#include <cstddef>
#include <memory>

namespace llada {

class Arena {
 public:
  // Make sure at least `bytes` are available; reallocates only when growing (invalidates pointers).
  void reserve(size_t bytes);
  // Forget all allocations (memory kept).
  void reset() { used_ = 0; }
  // 64-byte aligned; fails loudly if the reserved capacity is exceeded.
  void* alloc_bytes(size_t bytes);
  template <typename T>
  T* alloc(size_t n) { return static_cast<T*>(alloc_bytes(n * sizeof(T))); }
  size_t used() const { return used_; }
  size_t capacity() const { return cap_; }

 private:
  std::shared_ptr<void> block_;
  size_t cap_ = 0, used_ = 0;
};

}  // namespace llada
