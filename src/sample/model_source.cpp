#include "sample/model_source.h"

#include "core/error.h"
#include "core/name_table.h"

namespace llada::sample {

namespace {
constexpr NameEntry<CacheMode> kCacheModes[] = {
    {CacheMode::None, "none"}, {CacheMode::Prefix, "prefix"}, {CacheMode::Dual, "dual"}};
}  // namespace

CacheMode parse_cache_mode(const std::string& s) { return parse_name(kCacheModes, s, "cache"); }

const char* cache_mode_name(CacheMode c) { return name_of(kCacheModes, c); }

const float* ModelLogits::logits(const LogitsQuery& q) {
  ForwardArgs a;
  a.B = q.B;
  a.key_mask = q.key_mask;
  a.causal = m_.cfg.causal;
  if (mode_ == CacheMode::None) {
    a.T = q.T;
    a.ids = q.ids;
    a.rows = q.rows;
    a.n_rows = q.n_rows;
    return model_forward(m_, a, ws_);
  }
  const bool refresh = q.block_first_call || cache_.B != q.B || cache_.T != q.T;
  if (refresh) {
    // The refresh: a full forward that also stores every position's K/V (post-RoPE).
    if (cache_.B != q.B || cache_.T != q.T) cache_.allocate(m_.cfg, q.B, q.T);
    a.T = q.T;
    a.ids = q.ids;
    a.cache = &cache_;
    a.rows = q.rows;
    a.n_rows = q.n_rows;
    return model_forward(m_, a, ws_);
  }
  const int64_t c0 = q.block_start, c1 = mode_ == CacheMode::Prefix ? q.T : q.block_end;
  const int64_t Tc = c1 - c0;
  ids_.resize(size_t(q.B * Tc));
  for (int64_t b = 0; b < q.B; ++b)
    for (int64_t t = 0; t < Tc; ++t) ids_[size_t(b * Tc + t)] = q.ids[b * q.T + c0 + t];
  rows_.resize(size_t(q.n_rows));
  for (int64_t i = 0; i < q.n_rows; ++i) {
    const int64_t b = q.rows[i] / q.T, t = q.rows[i] % q.T;
    LLADA_CHECK(t >= c0 && t < c1,
                "cache %s: row at position %lld is outside the computed columns [%lld, %lld) "
                "(--infill needs --cache none)",
                cache_mode_name(mode_), (long long)t, (long long)c0, (long long)c1);
    rows_[size_t(i)] = int32_t(b * Tc + (t - c0));
  }
  a.T = Tc;
  a.ids = ids_.data();
  a.pos0 = c0;
  a.cache = &cache_;
  a.rows = rows_.data();
  a.n_rows = q.n_rows;
  return model_forward(m_, a, ws_);
}

}  // namespace llada::sample
