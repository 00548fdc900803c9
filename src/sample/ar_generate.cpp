#include "sample/ar_generate.h"

#include <algorithm>

#include "core/error.h"
#include "core/rng.h"
#include "core/sys.h"
#include "sample/rules.h"

namespace llada::sample {

void validate_autoregressive(const std::vector<std::vector<int32_t>>& prompts, const SpecialIds& sp,
                             const GenerateOptions& o) {
  LLADA_CHECK(!prompts.empty(), "no prompts to generate from");
  LLADA_CHECK(sp.eos >= 0 && sp.eos < sp.vocab,
              "the model has no valid eos_token_id (got %d, vocab %lld)", sp.eos, (long long)sp.vocab);
  LLADA_CHECK_OPTION(o.gen_length > 0, "gen_length", "{gen_length} must be positive, got %lld",
                     (long long)o.gen_length);
  LLADA_CHECK_OPTION(o.temperature >= 0, "temperature", "{temperature} must be >= 0, got %g", o.temperature);
  for (size_t b = 0; b < prompts.size(); ++b)
    LLADA_CHECK(!prompts[b].empty(), "prompt %zu is empty: an autoregressive model needs at least one token", b);
  check_prompts(prompts, sp, o.gen_length, /*mask_allowed=*/true);  // a causal model reads it as a token
}

GenerateResult generate_autoregressive(const Model& m, const std::vector<std::vector<int32_t>>& prompts,
                                       const SpecialIds& sp, const GenerateOptions& o,
                                       const StepObserver& observe) {
  validate_autoregressive(prompts, sp, o);
  LLADA_CHECK(m.cfg.causal, "generate_autoregressive: the model is not causal");
  const double t_start = now_seconds();
  const int64_t B = int64_t(prompts.size()), G = o.gen_length;
  int64_t P = 0;
  for (const auto& p : prompts) P = std::max<int64_t>(P, int64_t(p.size()));
  const int64_t T = P + G;
  const int32_t pad = sp.pad >= 0 ? sp.pad : sp.eos;

  // Canvas [B, T], left-padded prompts, the answer not generated yet (the mask id, as an observer
  // expects of an uncommitted position; no call ever reads it); the key mask hides padding.
  const int32_t unknown = sp.mask >= 0 ? sp.mask : pad;
  std::vector<int32_t> x(size_t(B * T), pad);
  for (int64_t b = 0; b < B; ++b) std::fill(x.begin() + b * T + P, x.begin() + (b + 1) * T, unknown);
  std::vector<uint8_t> key_mask(size_t(B * T), 1);
  for (int64_t b = 0; b < B; ++b) {
    const int64_t off = P - int64_t(prompts[size_t(b)].size());
    std::fill(key_mask.begin() + b * T, key_mask.begin() + b * T + off, uint8_t(0));
    std::copy(prompts[size_t(b)].begin(), prompts[size_t(b)].end(), x.begin() + b * T + off);
  }
  KVCache cache;
  if (!o.ar_recompute) cache.allocate(m.cfg, B, T);
  Workspace ws;
  std::vector<int32_t> step_ids(static_cast<size_t>(B)), rows(static_cast<size_t>(B));
  std::vector<uint8_t> stopped(size_t(B), 0);
  RowRule rule;
  rule.vocab = sp.vocab;
  rule.eos = sp.eos;
  rule.eot = sp.eot;
  rule.mask = sp.mask;  // a causal model never emits the mask id
  rule.temperature = o.temperature;
  rule.logits_eos_inf = o.logits_eos_inf;
  Rng rng(o.seed);
  std::vector<float> row(size_t(m.cfg.embedding_size));

  GenerateResult res;
  res.tokens.assign(size_t(B), std::vector<int32_t>(size_t(G), sp.eos));
  double model_s = 0;
  std::vector<int32_t> prompt_ids(size_t(B * P));
  for (int64_t b = 0; b < B; ++b)
    std::copy(x.begin() + b * T, x.begin() + b * T + P, prompt_ids.begin() + b * P);
  for (int64_t b = 0; b < B; ++b) rows[size_t(b)] = int32_t(b * P + P - 1);
  // Recomputing: the prefix [0, P+s) of every row, packed [B, P+s] with its key mask.
  std::vector<int32_t> prefix_rows(static_cast<size_t>(o.ar_recompute ? B : 0));
  std::vector<int32_t> prefix_ids(o.ar_recompute ? x.size() : 0);
  std::vector<uint8_t> prefix_mask(o.ar_recompute ? x.size() : 0);
  for (int64_t s = 0; s < G; ++s) {
    // Call 0 runs the whole prompt (filling the cache) and reads its last position; call s > 0 runs
    // the token chosen at s-1, at position P+s-1. Recomputing runs positions [0, P+s) every time.
    ForwardArgs a;
    a.B = B;
    a.causal = true;
    a.key_mask = key_mask.data();
    if (o.ar_recompute) {
      const int64_t L = P + s;
      for (int64_t b = 0; b < B; ++b) {
        std::copy(x.begin() + b * T, x.begin() + b * T + L, prefix_ids.begin() + b * L);
        std::copy(key_mask.begin() + b * T, key_mask.begin() + b * T + L, prefix_mask.begin() + b * L);
        prefix_rows[size_t(b)] = int32_t(b * L + L - 1);
      }
      a.T = L;
      a.ids = prefix_ids.data();
      a.key_mask = prefix_mask.data();
      a.rows = prefix_rows.data();
      a.n_rows = B;
    } else if (s == 0) {
      a.cache = &cache;
      a.T = P;
      a.ids = prompt_ids.data();
      a.rows = rows.data();
      a.n_rows = B;
    } else {
      a.cache = &cache;
      for (int64_t b = 0; b < B; ++b) step_ids[size_t(b)] = x[size_t(b * T + P + s - 1)];
      a.T = 1;
      a.pos0 = P + s - 1;
      a.ids = step_ids.data();
    }
    const double t0 = now_seconds();
    const float* logits = model_forward(m, a, ws);
    model_s += now_seconds() - t0;
    ++res.stats.nfe;
    res.stats.rows += B;
    for (int64_t b = 0; b < B; ++b) {
      if (stopped[size_t(b)]) continue;
      std::copy(logits + b * m.cfg.embedding_size, logits + (b + 1) * m.cfg.embedding_size, row.begin());
      x[size_t(b * T + P + s)] = predict_row(row.data(), rule, rng).token;
    }
    bool all = true;
    for (int64_t b = 0; b < B; ++b) {
      if (stopped[size_t(b)]) continue;
      const int32_t tok = x[size_t(b * T + P + s)];
      res.tokens[size_t(b)][size_t(s)] = tok;
      ++res.stats.committed;
      if (tok == sp.eos || (sp.eot >= 0 && tok == sp.eot)) {
        stopped[size_t(b)] = 1;
        std::fill(x.begin() + b * T + P + s + 1, x.begin() + (b + 1) * T, sp.eos);
      }
      all = all && stopped[size_t(b)];
    }
    if (observe) {
      StepView v;
      v.B = B;
      v.T = T;
      v.prompt_len = P;
      v.ids = x.data();
      v.step = s;
      v.nfe = res.stats.nfe;
      if (!observe(v)) {
        res.stopped = !all;
        break;
      }
    }
    if (all) break;
  }
  for (const auto& t : res.tokens)
    for (int32_t id : t) res.stats.generated += id != sp.eos;
  res.stats.model_seconds = model_s;
  res.stats.seconds = now_seconds() - t_start;
  return res;
}

}  // namespace llada::sample
