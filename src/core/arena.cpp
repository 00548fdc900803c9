#include "core/arena.h"

#include "core/error.h"
#include "core/tensor.h"

namespace llada {

void Arena::reserve(size_t bytes) {
  if (bytes <= cap_) return;
  LLADA_CHECK(used_ == 0, "Arena::reserve while %zu bytes are in use", used_);
  block_ = aligned_alloc_shared(bytes);
  cap_ = bytes;
}

void* Arena::alloc_bytes(size_t bytes) {
  size_t rounded = (bytes + 63) / 64 * 64;
  LLADA_CHECK(used_ + rounded <= cap_, "arena exhausted: need %zu more bytes, capacity %zu, used %zu",
              rounded, cap_, used_);
  void* p = static_cast<char*>(block_.get()) + used_;
  used_ += rounded;
  return p;
}

}  // namespace llada
