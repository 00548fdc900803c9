// Where the sampler's logits come from. The sampler never calls the model directly: it asks a
// LogitsSource for the rows it needs, so tests can inject deterministic fake logits and the model
// source can decide how to use a KV cache (the sampler only says which block it is in).
#pragma once
#include <cstdint>

namespace llada::sample {

struct LogitsQuery {
  int64_t B = 0, T = 0;               // canvas shape (under cfg B counts the unconditional copies)
  const int32_t* ids = nullptr;       // [B, T] the whole canvas
  const uint8_t* key_mask = nullptr;  // [B, T] 1 = attend; null = attend everywhere
  int64_t block_start = 0;            // current block, canvas columns [block_start, block_end)
  int64_t block_end = 0;
  bool block_first_call = true;       // first call of this block: a cache must be refreshed here
  const int32_t* rows = nullptr;      // flat indices b*T + t, ascending; every t < block_end
  int64_t n_rows = 0;
};

class LogitsSource {
 public:
  virtual ~LogitsSource() = default;
  // Stride of one row of logits (the model's embedding_size).
  virtual int64_t row_width() const = 0;
  // Logits [n_rows, row_width()] for q.rows in order, valid until the next call.
  virtual const float* logits(const LogitsQuery& q) = 0;
  // True when only rows at or after block_start can be served (a KV-cached model).
  virtual bool block_rows_only() const { return false; }
};

}  // namespace llada::sample
