#include "train/objective.h"

#include <algorithm>

#include "core/error.h"
#include "core/name_table.h"

namespace llada::train {

namespace {
constexpr NameEntry<Objective> kObjectives[] = {
    {Objective::Diffusion, "diffusion"}, {Objective::Sft, "sft"}, {Objective::Ar, "ar"}};
constexpr NameEntry<MaskWeighting> kWeightings[] = {{MaskWeighting::Elbo, "elbo"}, {MaskWeighting::Flat, "flat"}};
}  // namespace

Objective objective_from_name(const std::string& s) { return parse_config_name(kObjectives, s, "objective"); }

const char* objective_name(Objective o) { return name_of(kObjectives, o); }

MaskWeighting mask_weighting_from_name(const std::string& s) {
  return parse_config_name(kWeightings, s, "diffusion.weighting");
}

const char* mask_weighting_name(MaskWeighting w) { return name_of(kWeightings, w); }

namespace {

void reset(TrainBatch& out, int64_t B, int64_t T, bool causal) {
  out.B = B;
  out.T = T;
  out.causal = causal;
  out.ids.resize(size_t(B * T));
  out.rows.clear();
  out.targets.clear();
  out.weights.clear();
  out.p_mask.assign(size_t(B), 0.0f);
}

// t per row: independent U(0,1), or stratified (i + u)/B with one u for the batch.
void draw_t(double* t, int64_t B, bool stratified, Rng& rng) {
  if (stratified) {
    double u = rng.uniform();
    for (int64_t i = 0; i < B; ++i) t[i] = (double(i) + u) / double(B);
  } else {
    for (int64_t i = 0; i < B; ++i) t[i] = rng.uniform();
  }
}

}  // namespace

void make_diffusion_batch_fixed_t(const int32_t* clean, int64_t B, int64_t L, const double* t,
                                  const DiffusionOptions& o, Rng& rng, TrainBatch& out,
                                  float scale) {
  LLADA_CHECK(o.mask_id >= 0, "diffusion objective: mask_token_id is not set");
  LLADA_CHECK(B > 0 && L > 0, "diffusion objective: empty batch (B=%lld, L=%lld)", (long long)B,
              (long long)L);
  reset(out, B, L, false);
  const double norm = double(B) * double(L);
  for (int64_t b = 0; b < B; ++b) {
    const double p = (1.0 - o.eps) * t[b] + o.eps;
    out.p_mask[size_t(b)] = float(p);
    // The weight is computed in double and rounded once: CE / p / (b*L).
    const float w = float(double(scale) / (p * norm));
    const int32_t* src = clean + b * L;
    int32_t* dst = out.ids.data() + b * L;
    for (int64_t i = 0; i < L; ++i) {
      if (rng.uniform() < p) {
        dst[i] = o.mask_id;
        out.rows.push_back(int32_t(b * L + i));
        out.targets.push_back(src[i]);
        out.weights.push_back(w);
      } else {
        dst[i] = src[i];
      }
    }
  }
  if (o.weighting == MaskWeighting::Flat && !out.weights.empty()) {
    const float w = float(double(scale) / double(out.weights.size()));
    std::fill(out.weights.begin(), out.weights.end(), w);
  }
}

void make_diffusion_batch(const int32_t* clean, int64_t B, int64_t L, const DiffusionOptions& o,
                          Rng& rng, TrainBatch& out, float scale) {
  // Draw order is fixed (length decision, t, then masks) so a seed reproduces a run exactly.
  int64_t len = L;
  if (o.random_length_prob > 0 && rng.uniform() < o.random_length_prob)
    len = 1 + int64_t(rng.below(uint64_t(L)));
  double t_stack[64];
  std::vector<double> t_heap;
  double* t = t_stack;
  if (B > 64) {
    t_heap.resize(size_t(B));
    t = t_heap.data();
  }
  draw_t(t, B, o.stratified_t, rng);
  if (len == L) {
    make_diffusion_batch_fixed_t(clean, B, L, t, o, rng, out, scale);
    return;
  }
  // Truncated batch: the first `len` tokens of every row (the authors slice input_ids[:, :len]).
  thread_local std::vector<int32_t> cut;
  cut.resize(size_t(B * len));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < len; ++i) cut[size_t(b * len + i)] = clean[b * L + i];
  make_diffusion_batch_fixed_t(cut.data(), B, len, t, o, rng, out, scale);
}

void make_sft_batch(const SftSample* samples, int64_t B, int64_t T, const SftOptions& o, Rng& rng,
                    TrainBatch& out, float scale) {
  LLADA_CHECK(o.mask_id >= 0 && o.eos_id >= 0, "sft objective: mask_token_id or eos_token_id is not set");
  LLADA_CHECK(B > 0 && T > 0, "sft objective: empty batch");
  reset(out, B, T, false);
  double t_stack[64];
  std::vector<double> t_heap;
  double* t = t_stack;
  if (B > 64) {
    t_heap.resize(size_t(B));
    t = t_heap.data();
  }
  draw_t(t, B, o.stratified_t, rng);
  for (int64_t b = 0; b < B; ++b) {
    const SftSample& s = samples[b];
    LLADA_CHECK(s.len <= T, "sft sample %lld: length %lld exceeds the sequence length %lld",
                (long long)b, (long long)s.len, (long long)T);
    LLADA_CHECK(s.prompt_len >= 0 && s.prompt_len < T && s.prompt_len <= s.len,
                "sft sample %lld: prompt length %lld leaves no answer position in %lld tokens",
                (long long)b, (long long)s.prompt_len, (long long)T);
    const double p = (1.0 - o.eps) * t[b] + o.eps;
    out.p_mask[size_t(b)] = float(p);
    const int64_t answer_len = T - s.prompt_len;  // EOS padding included (spec section 3)
    const float w = float(double(scale) / (p * double(answer_len) * double(B)));
    const bool mask_prompt = o.prompt_mask_prob > 0 && rng.uniform() < o.prompt_mask_prob;
    int32_t* dst = out.ids.data() + b * T;
    for (int64_t i = 0; i < s.prompt_len; ++i) dst[i] = mask_prompt ? o.mask_id : s.ids[i];
    for (int64_t i = s.prompt_len; i < T; ++i) {
      const int32_t tok = i < s.len ? s.ids[i] : o.eos_id;
      if (rng.uniform() < p) {
        dst[i] = o.mask_id;
        out.rows.push_back(int32_t(b * T + i));
        out.targets.push_back(tok);
        out.weights.push_back(w);
      } else {
        dst[i] = tok;
      }
    }
  }
}

void make_ar_batch(const int32_t* clean, int64_t B, int64_t L, TrainBatch& out, float scale) {
  LLADA_CHECK(B > 0 && L >= 2, "ar objective: needs sequences of at least 2 tokens (L=%lld)",
              (long long)L);
  reset(out, B, L, true);
  const float w = float(double(scale) / (double(B) * double(L - 1)));
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < L; ++i) out.ids[size_t(b * L + i)] = clean[b * L + i];
    for (int64_t i = 0; i + 1 < L; ++i) {
      out.rows.push_back(int32_t(b * L + i));
      out.targets.push_back(clean[b * L + i + 1]);
      out.weights.push_back(w);
    }
  }
}

void make_ar_sft_batch(const SftSample* samples, int64_t B, int64_t T, int32_t eos_id,
                       TrainBatch& out, float scale) {
  LLADA_CHECK(eos_id >= 0, "ar sft objective: eos_token_id is not set");
  reset(out, B, T, true);
  for (int64_t b = 0; b < B; ++b) {
    const SftSample& s = samples[b];
    LLADA_CHECK(s.len <= T && s.prompt_len >= 1 && s.prompt_len < T,
                "ar sft sample %lld: needs 1 <= prompt length (%lld) < %lld and length %lld <= %lld",
                (long long)b, (long long)s.prompt_len, (long long)T, (long long)s.len, (long long)T);
    const int64_t answer_len = T - s.prompt_len;
    const float w = float(double(scale) / (double(answer_len) * double(B)));
    int32_t* dst = out.ids.data() + b * T;
    for (int64_t i = 0; i < T; ++i) dst[i] = i < s.len ? s.ids[i] : eos_id;
    for (int64_t i = s.prompt_len - 1; i + 1 < T; ++i) {
      out.rows.push_back(int32_t(b * T + i));
      out.targets.push_back(dst[i + 1]);
      out.weights.push_back(w);
    }
  }
}

}  // namespace llada::train
