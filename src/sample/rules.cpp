#include "sample/rules.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/ops.h"

namespace llada::sample {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace

void guide_logits(float* out, const float* cond, const float* uncond, double cfg_scale, int64_t n) {
  const float s = float(cfg_scale + 1.0);
  for (int64_t i = 0; i < n; ++i) out[i] = uncond[i] + s * (cond[i] - uncond[i]);
}

Prediction predict_row(float* l, const RowRule& r, Rng& rng) {
  const int64_t V = r.vocab;
  if (r.logits_eos_inf && r.eos >= 0 && r.eos < V) l[r.eos] = kNegInf;
  // Parallel decoding excludes the mask id: committing it would leave the position masked and the
  // block would never finish (docs/sampling.md). The fixed-step sampler passes mask = -1.
  if (r.mask >= 0 && r.mask < V) l[r.mask] = kNegInf;

  Prediction p;
  if (r.temperature == 0.0) {
    // torch.argmax: the first maximum.
    const float mx = kernels::row_max(l, V);
    int64_t best = 0;
    while (best + 1 < V && l[best] != mx) ++best;
    p.token = int32_t(best);
  } else {
    // The reference computes argmax_v exp(l_v) / (-log u_v)^T in float64. log is increasing and
    // both factors are positive, so that argmax equals argmax_v [l_v - T*log(-log u_v)] exactly in
    // real arithmetic; this form cannot overflow (exp(l) does above l = 709) and is, divided by T,
    // l_v/T + Gumbel noise: a sample from softmax(l/T). A -inf logit stays -inf in both forms.
    const double T = r.temperature;
    double best_score = -std::numeric_limits<double>::infinity();
    int64_t best = -1;
    for (int64_t v = 0; v < V; ++v) {
      const double u = rng.uniform_open();
      const double score = double(l[v]) - T * std::log(-std::log(u));
      if (score > best_score || best < 0) { best_score = score; best = v; }
    }
    p.token = int32_t(best);
  }

  // The reference writes `logits_with_noise[eos] = logits[eot] = -inf`; at temperature 0 those two
  // names are the same array, so EOS is removed from the confidence too. `l` is this row's own
  // copy and x0 is chosen, so the switches are applied to it in place.
  if (r.confidence_eos_eot_inf) {
    if (r.eot >= 0 && r.eot < V) l[r.eot] = kNegInf;
    if (r.temperature == 0.0 && r.eos >= 0 && r.eos < V) l[r.eos] = kNegInf;
  }

  p.conf = remasking_rule(r.remasking).confidence(l, V, p.token, rng);
  return p;
}

namespace {

// The confidence functions of the rules (higher = commit first), over a row whose x0 is `token`.
double random_confidence(const float*, int64_t, int32_t, Rng& rng) { return rng.uniform(); }

double low_confidence(const float* l, int64_t V, int32_t token, Rng&) {
  const float x0_logit = l[token];
  if (x0_logit == kNegInf) return 0.0;
  const float mx = kernels::row_max(l, V);
  double sum = 0.0;
  kernels::row_exp_sums_f64(l, V, mx, &sum, nullptr);
  return std::exp(double(x0_logit) - double(mx)) / sum;
}

double margin_confidence(const float* l, int64_t V, int32_t, Rng&) {
  float a1 = kNegInf, a2 = kNegInf;
  for (int64_t v = 0; v < V; ++v) {
    const float x = l[v];
    if (x > a1) { a2 = a1; a1 = x; } else if (x > a2) { a2 = x; }
  }
  if (a1 == kNegInf) return 0.0;
  double sum = 0.0;
  kernels::row_exp_sums_f64(l, V, a1, &sum, nullptr);
  return (1.0 - std::exp(double(a2) - double(a1))) / sum;
}

double entropy_confidence(const float* l, int64_t V, int32_t, Rng&) {
  const float mx = kernels::row_max(l, V);
  if (mx == kNegInf) return -std::numeric_limits<double>::max();
  double sum = 0.0, wsum = 0.0;
  kernels::row_exp_sums_f64(l, V, mx, &sum, &wsum);
  // sum p log p = E[z] - log(sum), with p = e^z / sum.
  return wsum / sum - std::log(sum);
}

// One row per rule, in the order of the Remasking enum (checked below).
constexpr RemaskingRule kRules[] = {
    {Remasking::LowConfidence, "low_confidence", false, low_confidence,
     "softmax probability of the predicted token (LLaDA's default)"},
    {Remasking::Random, "random", true, random_confidence, "U(0,1) per position: the ablation baseline"},
    {Remasking::Margin, "margin", false, margin_confidence, "top-1 minus top-2 probability"},
    {Remasking::Entropy, "entropy", false, entropy_confidence,
     "negative entropy of the predictive distribution"},
};

constexpr bool rules_in_enum_order() {
  for (size_t i = 0; i < std::size(kRules); ++i)
    if (size_t(kRules[i].id) != i) return false;
  return true;
}
static_assert(rules_in_enum_order(), "kRules must list the rules in the order of enum Remasking");

}  // namespace

std::span<const RemaskingRule> remasking_rules() { return kRules; }

const RemaskingRule& remasking_rule(Remasking r) {
  LLADA_ASSERT(size_t(r) < std::size(kRules));
  return kRules[size_t(r)];
}

void rank_candidates(Candidate* c, int64_t n) {
  std::sort(c, c + n, [](const Candidate& a, const Candidate& b) {
    if (a.conf != b.conf) return a.conf > b.conf;
    return a.pos < b.pos;
  });
}

int64_t count_threshold(const Candidate* c, int64_t n, double tau) {
  if (n == 0) return 0;
  int64_t k = 1;
  while (k < n && c[k].conf >= tau) ++k;
  return k;
}

int64_t count_factor(const Candidate* c, int64_t n, double f) {
  if (n == 0) return 0;
  int64_t k = 1;  // the first is always committed
  while (k < n && c[k].conf >= 1.0 - f / double(k + 2)) ++k;  // c[k] is c_{k+1}
  return k;
}

std::vector<int64_t> transfer_schedule(int64_t n, int64_t steps) {
  LLADA_ASSERT(steps > 0 && n >= 0);
  std::vector<int64_t> s(size_t(steps), n / steps);
  for (int64_t i = 0; i < n % steps; ++i) s[size_t(i)] += 1;
  return s;
}

Remasking parse_remasking(const std::string& s) {
  std::string names;
  for (const RemaskingRule& r : kRules) {
    if (s == r.name) return r.id;
    names += names.empty() ? "" : ", ";
    names += r.name;
  }
  throw OptionError("remasking", strformat("{remasking}: expected one of %s, got '%s'", names.c_str(), s.c_str()));
}

const char* remasking_name(Remasking r) { return remasking_rule(r).name; }

}  // namespace llada::sample
