// The model as a LogitsSource, with the KV-cache modes of spec section 5:
//  none   - every call runs the whole canvas (the reference);
//  prefix - the first call of a block runs the whole canvas and fills the cache; later calls run
//           only x[block_start:] (pos0 = block_start) against the cached K/V of the prefix;
//  dual   - later calls run only the block's positions, overwrite their K/V in place and reuse the
//           stale prefix and suffix K/V until the next block starts.
// In every mode only the requested rows of logits are computed.
#pragma once
#include <string>
#include <vector>

#include "model/model.h"
#include "sample/logits_source.h"

namespace llada::sample {

enum class CacheMode { None, Prefix, Dual };
CacheMode parse_cache_mode(const std::string& s);  // throws llada::Error naming --cache
const char* cache_mode_name(CacheMode c);

class ModelLogits : public LogitsSource {
 public:
  explicit ModelLogits(const Model& m, CacheMode mode = CacheMode::None) : m_(m), mode_(mode) {}
  int64_t row_width() const override { return m_.cfg.embedding_size; }
  const float* logits(const LogitsQuery& q) override;
  bool block_rows_only() const override { return mode_ != CacheMode::None; }
  CacheMode mode() const { return mode_; }
  size_t workspace_bytes() const { return ws_.peak_bytes(); }

 private:
  const Model& m_;
  CacheMode mode_;
  Workspace ws_;
  KVCache cache_;
  std::vector<int32_t> ids_, rows_;  // the columns a cached call runs, and its row indices
};

}  // namespace llada::sample
