#include "sample/generate.h"

#include <omp.h>

#include <algorithm>

#include "core/error.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "core/sys.h"
#include "sample/rules.h"

namespace llada::sample {

void validate(const std::vector<std::vector<int32_t>>& prompts, const SpecialIds& sp,
              const GenerateOptions& o) {
  LLADA_CHECK(!prompts.empty(), "no prompts to generate from");
  LLADA_CHECK(sp.mask >= 0 && sp.mask < sp.vocab,
              "the model has no valid mask_token_id (got %d, vocab %lld)", sp.mask, (long long)sp.vocab);
  LLADA_CHECK(sp.eos >= 0 && sp.eos < sp.vocab,
              "the model has no valid eos_token_id (got %d, vocab %lld)", sp.eos, (long long)sp.vocab);
  validate_options(o);
  check_prompts(prompts, sp, o.gen_length, o.infill);
}

void check_prompts(const std::vector<std::vector<int32_t>>& prompts, const SpecialIds& sp,
                   int64_t gen_length, bool mask_allowed) {
  LLADA_CHECK(!prompts.empty(), "no prompts to generate from");
  size_t P = 0;
  for (size_t b = 0; b < prompts.size(); ++b) {
    P = std::max(P, prompts[b].size());
    for (size_t i = 0; i < prompts[b].size(); ++i) {
      const int32_t id = prompts[b][i];
      LLADA_CHECK(id >= 0 && id < sp.vocab, "prompt %zu: token %zu = %d is outside the vocabulary [0, %lld)",
                  b, i, id, (long long)sp.vocab);
      LLADA_CHECK_OPTION(mask_allowed || id != sp.mask, "infill",
                  "prompt %zu: token %zu is the mask id %d (pass {infill} to fill masks inside the prompt)",
                  b, i, id);
    }
  }
  LLADA_CHECK_OPTION(sp.max_len <= 0 || int64_t(P) + gen_length <= sp.max_len, "gen_length",
              "prompt (%zu tokens) + {gen_length} %lld exceeds the model's max_sequence_length %lld", P,
              (long long)gen_length, (long long)sp.max_len);
}

namespace {

// The mutable state of one run; buffers are sized once so the step loop allocates nothing.
struct Run {
  int64_t B = 0, Bc = 0, T = 0, P = 0;
  bool cfg = false, any_padding = false;
  int32_t mask = -1;
  std::vector<int32_t> x;             // [Bc, T]: conditional rows, then unconditional (cfg)
  std::vector<uint8_t> key_mask;      // [Bc, T]
  std::vector<int32_t> rows;          // requested flat rows (cond, then their uncond twins)
  std::vector<int64_t> row_begin;     // [B+1] ranges of `rows`/`cands` per sequence
  std::vector<Candidate> cands;       // one per conditional requested row
  std::vector<float> guided;          // one row of guided logits per thread
  int threads = 1;
  std::vector<uint8_t> done;          // [B] early-exited
  std::vector<std::vector<int64_t>> sched;  // [B] this block's transfer schedule
  int32_t at(int64_t b, int64_t t) const { return x[size_t(b * T + t)]; }
  void commit(int64_t b, int64_t t, int32_t v) {
    x[size_t(b * T + t)] = v;
    if (Bc > B) x[size_t((B + b) * T + t)] = v;  // generated positions are never prompt positions
  }
  bool all_done() const {
    return std::all_of(done.begin(), done.end(), [](uint8_t d) { return d != 0; });
  }
  bool block_has_mask(int64_t b, int64_t bs, int64_t be) const {
    for (int64_t t = bs; t < be; ++t)
      if (at(b, t) == mask) return true;
    return false;
  }
};

// The canvas: prompts left-padded (padding keys masked), then gen_length masks; with guidance,
// the unconditional copy below it (every prompt position masked).
Run start_run(const std::vector<std::vector<int32_t>>& prompts, const SpecialIds& sp, const GenerateOptions& o) {
  Run r;
  r.cfg = o.cfg_scale > 0;
  r.mask = sp.mask;
  const int32_t pad = sp.pad >= 0 ? sp.pad : sp.eos;
  r.B = int64_t(prompts.size());
  r.Bc = r.cfg ? 2 * r.B : r.B;
  for (auto& p : prompts) r.P = std::max(r.P, int64_t(p.size()));
  r.T = r.P + o.gen_length;
  r.x.assign(size_t(r.Bc * r.T), r.mask);
  r.key_mask.assign(size_t(r.Bc * r.T), 1);
  for (int64_t b = 0; b < r.B; ++b) {
    const auto& p = prompts[size_t(b)];
    const int64_t off = r.P - int64_t(p.size());
    for (int64_t t = 0; t < off; ++t) {
      r.x[size_t(b * r.T + t)] = pad;
      r.key_mask[size_t(b * r.T + t)] = 0;
      r.any_padding = true;
    }
    for (size_t i = 0; i < p.size(); ++i) r.x[size_t(b * r.T + off + int64_t(i))] = p[i];
  }
  if (r.cfg) {
    // The unconditional input: prompt_index (x != mask, computed once; padding included) -> mask.
    for (int64_t b = 0; b < r.B; ++b)
      for (int64_t t = 0; t < r.T; ++t) {
        const int32_t v = r.at(b, t);
        r.x[size_t((r.B + b) * r.T + t)] = (v != r.mask) ? r.mask : v;
        r.key_mask[size_t((r.B + b) * r.T + t)] = r.key_mask[size_t(b * r.T + t)];
      }
  }
  r.rows.resize(size_t(r.Bc * r.T));
  r.row_begin.resize(size_t(r.B + 1));
  r.cands.resize(size_t(r.B * r.T));
  r.threads = std::max(1, omp_get_max_threads());
  r.guided.resize(size_t(r.threads) * size_t(sp.vocab));
  r.done.assign(size_t(r.B), 0);
  r.sched.resize(size_t(r.B));
  return r;
}

// The per-row rule of this run.
RowRule row_rule(const SpecialIds& sp, const GenerateOptions& o, bool exclude_mask) {
  RowRule rule;
  rule.vocab = sp.vocab;
  rule.eos = sp.eos;
  rule.eot = sp.eot;
  rule.mask = exclude_mask ? sp.mask : -1;
  rule.temperature = o.temperature;
  rule.remasking = o.remasking;
  rule.logits_eos_inf = o.logits_eos_inf;
  rule.confidence_eos_eot_inf = o.confidence_eos_eot_inf;
  return rule;
}

// Fixed-step decoding: each sequence's masks in [bs, be) spread over the block's steps.
void schedule_block(Run& r, int64_t bs, int64_t be, int64_t steps_k) {
  for (int64_t b = 0; b < r.B; ++b) {
    int64_t n = 0;
    for (int64_t t = bs; t < be; ++t) n += r.at(b, t) == r.mask;
    r.sched[size_t(b)] = transfer_schedule(n, steps_k);
  }
}

// The rows step s asks for: the masked positions in [scan0, be) of each sequence that commits
// something (then their unconditional twins). Returns the conditional row count, 0 when the
// step would commit nothing.
int64_t gather_rows(Run& r, const GenerateOptions& o, int64_t s, int64_t scan0, int64_t be) {
  int64_t n = 0, want_any = 0;
  for (int64_t b = 0; b < r.B; ++b) {
    r.row_begin[size_t(b)] = n;
    const int64_t k_b = o.parallel() ? 1 : r.sched[size_t(b)][size_t(s)];
    if (k_b == 0) continue;
    for (int64_t t = scan0; t < be; ++t)
      if (r.at(b, t) == r.mask) r.rows[size_t(n++)] = int32_t(b * r.T + t);
    want_any += k_b;
  }
  r.row_begin[size_t(r.B)] = n;
  if (want_any == 0) return 0;
  if (r.cfg)
    for (int64_t i = 0; i < n; ++i) r.rows[size_t(n + i)] = r.rows[size_t(i)] + int32_t(r.B * r.T);
  return n;
}

// x0 and confidence of each requested row from its logits (guided with cfg).
void predict_rows(Run& r, const float* L, int64_t W, int64_t n, const RowRule& rule, const GenerateOptions& o,
                  Rng& rng) {
  const int64_t V = rule.vocab;
  // Rows that draw no random numbers are independent and run in parallel (a row's softmax over
  // a 126k vocabulary is not negligible); rows that do draw stay in order, so a seed gives
  // the same run on any thread count.
  const bool draws = o.temperature > 0 || remasking_rule(o.remasking).draws_random;
  ParallelErrors errors;
#pragma omp parallel for schedule(static) num_threads(r.threads) if (!draws && n > 1 && r.threads > 1)
  for (int64_t i = 0; i < n; ++i) {
    errors.run([&] {
      float* row = r.guided.data() + size_t(omp_get_thread_num()) * size_t(V);
      const float* c = L + i * W;
      if (r.cfg) guide_logits(row, c, L + (n + i) * W, o.cfg_scale, V);
      else std::copy(c, c + V, row);
      const Prediction p = predict_row(row, rule, rng);
      auto& cd = r.cands[size_t(i)];
      cd.pos = r.rows[size_t(i)] % int32_t(r.T);
      cd.token = p.token;
      cd.conf = p.conf;
    });
  }
  errors.rethrow();
}

// Commits each sequence's most confident candidates: the schedule's count, or the threshold /
// factor rule's. Returns how many were committed.
int64_t commit_ranked(Run& r, const GenerateOptions& o, int64_t s) {
  int64_t committed = 0;
  for (int64_t b = 0; b < r.B; ++b) {
    Candidate* c = r.cands.data() + r.row_begin[size_t(b)];
    const int64_t m = r.row_begin[size_t(b + 1)] - r.row_begin[size_t(b)];
    if (m == 0) continue;
    rank_candidates(c, m);
    int64_t take;
    if (o.threshold > 0) take = count_threshold(c, m, o.threshold);
    else if (o.factor > 0) take = count_factor(c, m, o.factor);
    else take = std::min(m, r.sched[size_t(b)][size_t(s)]);
    for (int64_t j = 0; j < take; ++j) r.commit(b, c[j].pos, c[j].token);
    committed += take;
  }
  return committed;
}

// --early-exit: a sequence whose finished block [bs, be) holds EOS is EOS to the end, and stops.
void exit_finished(Run& r, const SpecialIds& sp, int64_t bs, int64_t be) {
  for (int64_t b = 0; b < r.B; ++b) {
    if (r.done[size_t(b)] || r.block_has_mask(b, bs, be)) continue;
    bool eos = false;
    for (int64_t t = bs; t < be && !eos; ++t) eos = r.at(b, t) == sp.eos;
    if (!eos) continue;
    for (int64_t t = be; t < r.T; ++t) r.commit(b, t, sp.eos);
    r.done[size_t(b)] = 1;
  }
}

GenerateResult finish(const Run& r, const SpecialIds& sp, GenerateStats st, double t_start) {
  GenerateResult res;
  res.tokens.resize(size_t(r.B));
  for (int64_t b = 0; b < r.B; ++b) {
    auto& out = res.tokens[size_t(b)];
    out.assign(r.x.begin() + b * r.T + r.P, r.x.begin() + (b + 1) * r.T);
    for (int32_t v : out) st.generated += (v != sp.eos && v != r.mask);
  }
  st.seconds = now_seconds() - t_start;
  res.stats = st;
  return res;
}

}  // namespace

GenerateResult generate(LogitsSource& src, const std::vector<std::vector<int32_t>>& prompts,
                        const SpecialIds& sp, const GenerateOptions& o, const StepObserver& observe) {
  validate(prompts, sp, o);
  const double t_start = now_seconds();
  const int64_t W = src.row_width();
  LLADA_CHECK(W >= sp.vocab, "logits have %lld columns, fewer than the vocabulary %lld", (long long)W,
              (long long)sp.vocab);
  Run r = start_run(prompts, sp, o);
  // The reference sampler may predict the mask id itself (the authors' code does: the position then
  // stays masked and is predicted again later), so fixed-step decoding keeps that behaviour to stay
  // token-for-token exact. Parallel decoding must exclude it: a block ends only when it has no
  // masks, so a committed mask id could keep it open forever.
  // A KV-cached source computes only the block's rows, so it cannot revisit an earlier leftover
  // mask either: it excludes the mask id too.
  const bool exclude_mask = o.never_predict_mask || o.parallel() || src.block_rows_only();
  const RowRule rule = row_rule(sp, o, exclude_mask);
  Rng rng(o.seed);
  GenerateStats st;
  const int64_t nb = o.gen_length / o.block();
  bool stopped = false;
  for (int64_t k = 0; k < nb && !stopped && !r.all_done(); ++k) {
    const int64_t bs = r.P + k * o.block(), be = bs + o.block();
    // Positions that may be committed in this block: masks before its end, as in the reference.
    // Without --infill and with the mask id excluded there are none before the block, so only the
    // block is scanned (and only its rows are computed); otherwise a mask id committed in an
    // earlier block is still a mask and a candidate here, exactly as in the authors' code.
    const int64_t scan0 = (o.infill || !exclude_mask) ? 0 : bs;
    int64_t steps_k = 0;
    if (!o.parallel()) {
      steps_k = o.total_steps() / nb + ((o.uneven_steps && k < o.total_steps() % nb) ? 1 : 0);
      schedule_block(r, bs, be, steps_k);
    }
    bool first_call = true;
    for (int64_t s = 0; (o.parallel() || s < steps_k) && !stopped; ++s) {
      const int64_t n = gather_rows(r, o, s, scan0, be);
      if (n == 0) {
        if (o.parallel()) break;  // the block has no masks left
        continue;                 // a step that commits nothing changes nothing: skip the model
      }
      LogitsQuery q;
      q.B = r.Bc;
      q.T = r.T;
      q.ids = r.x.data();
      q.key_mask = r.any_padding ? r.key_mask.data() : nullptr;
      q.block_start = bs;
      q.block_end = be;
      q.block_first_call = first_call;
      q.rows = r.rows.data();
      q.n_rows = r.cfg ? 2 * n : n;
      const double t0 = now_seconds();
      const float* L = src.logits(q);
      st.model_seconds += now_seconds() - t0;
      st.nfe += 1;
      st.rows += q.n_rows;
      first_call = false;
      predict_rows(r, L, W, n, rule, o, rng);
      st.committed += commit_ranked(r, o, s);
      if (observe) stopped = !observe(StepView{r.B, r.T, r.P, r.x.data(), k, s, st.nfe});
    }
    if (o.early_exit && !stopped) exit_finished(r, sp, bs, be);
  }
  GenerateResult res = finish(r, sp, st, t_start);
  res.stopped = stopped;
  return res;
}

}  // namespace llada::sample
