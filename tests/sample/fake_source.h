// Deterministic fake logits for sampler tests: every row is a pseudo-random function of the visible
// (non-padding, non-mask) context and of the position relative to the sequence's first real token,
// so decisions depend on earlier commits, and left padding changes nothing (unlike a real model,
// whose RoPE positions are absolute). Counts the rows it was asked for.
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "sample/logits_source.h"

namespace llada::sample::test {

inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

struct HashSource : LogitsSource {
  int64_t V;
  int32_t mask;
  float scale;
  // Added to the mask id's logit. Default: far below everything, as in a trained model (the mask is
  // never a training target); tests of the reference's mask-prediction behaviour set it to 0.
  float mask_bias = -100.0f;
  int64_t calls = 0, rows_seen = 0;
  std::vector<float> out;
  HashSource(int64_t V, int32_t mask, float scale = 3.0f) : V(V), mask(mask), scale(scale) {}
  int64_t row_width() const override { return V; }

  // Logits of position t in one sequence (ids, key mask of length T).
  void row(const int32_t* ids, const uint8_t* km, int64_t T, int64_t t, float* dst) const {
    int64_t pad = 0;
    while (km && pad < T && km[pad] == 0) ++pad;
    uint64_t ctx = 0;
    for (int64_t j = pad; j < T; ++j)
      if (ids[j] != mask) ctx += mix64(uint64_t(ids[j]) * 1000003ull + uint64_t(j - pad));
    const uint64_t base = mix64(ctx ^ (uint64_t(t - pad) << 32));
    for (int64_t v = 0; v < V; ++v) {
      const uint64_t h = mix64(base + uint64_t(v));
      dst[v] = scale * float(double(h >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    }
    if (mask >= 0 && mask < V) dst[mask] += mask_bias;
  }
  const float* logits(const LogitsQuery& q) override {
    ++calls;
    rows_seen += q.n_rows;
    out.resize(size_t(q.n_rows * V));
    for (int64_t i = 0; i < q.n_rows; ++i) {
      const int64_t b = q.rows[i] / q.T, t = q.rows[i] % q.T;
      row(q.ids + b * q.T, q.key_mask ? q.key_mask + b * q.T : nullptr, q.T, t, out.data() + i * V);
    }
    return out.data();
  }
};

}  // namespace llada::sample::test
