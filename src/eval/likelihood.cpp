#include "eval/likelihood.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace llada {

std::vector<int64_t> likelihood_mask_counts(int64_t k, int64_t A, int64_t batch) {
  std::vector<int64_t> m(static_cast<size_t>(batch));
  // torch.linspace(k, k + (b-1)*(A/b), b) then torch.round (half to even) in float32.
  const float step = float(A) / float(batch);
  for (int64_t r = 0; r < batch; ++r) {
    float x = float(k) + float(r) * step;
    int64_t rounded = int64_t(std::nearbyint(x));
    m[size_t(r)] = ((rounded - 1) % A + A) % A + 1;
  }
  return m;
}

namespace {

// Log-softmax of `target` in one row of logits (stable).
double log_prob(const float* row, int64_t V, int32_t target) {
  float mx = row[0];
  for (int64_t j = 1; j < V; ++j) mx = std::max(mx, row[j]);
  double s = 0;
  for (int64_t j = 0; j < V; ++j) s += std::exp(double(row[j] - mx));
  return double(row[target] - mx) - std::log(s);
}

// Mini-batches needed before their spread, rather than the rows', gives the standard error.
constexpr size_t kMinBatchesForBatchError = 8;

double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

// Standard error of the mean of v (sample standard deviation / sqrt(n)); 0 for fewer than 2 values.
double standard_error(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / double(v.size() - 1) / double(v.size()));
}

}  // namespace

LikelihoodResult estimate_log_likelihood(const Model& m, const std::vector<int32_t>& prompt,
                                         const std::vector<int32_t>& answer,
                                         const LikelihoodOptions& opt, Workspace& ws) {
  const int64_t P = int64_t(prompt.size()), A = int64_t(answer.size()), L = P + A;
  const int64_t V = m.cfg.embedding_size;
  LLADA_CHECK(A > 0, "likelihood: the answer is empty");
  LLADA_CHECK(opt.batch > 0 && opt.mc_num > 0, "likelihood: --mc-num (%lld) and --batch (%lld) must be >= 1",
              (long long)opt.mc_num, (long long)opt.batch);
  // Fewer samples than a mini-batch: one mini-batch of mc_num rows.
  const int64_t batch = std::min(opt.batch, opt.mc_num);
  LLADA_CHECK(opt.mc_num % batch == 0, "likelihood: --mc-num (%lld) must be a multiple of --batch (%lld)",
              (long long)opt.mc_num, (long long)batch);
  LLADA_CHECK(opt.mask_id >= 0 && opt.mask_id < V, "likelihood: mask id %d outside the vocabulary",
              opt.mask_id);
  LLADA_CHECK(L <= m.cfg.max_sequence_length, "likelihood: %lld tokens exceed the model's maximum %lld",
              (long long)L, (long long)m.cfg.max_sequence_length);
  const bool cfg = opt.cfg_scale > 0;
  // A one-token answer has m = A = 1 in every row: one row is enough and the estimate is exact.
  const int64_t b = (A == 1) ? 1 : batch;
  const int64_t n_batches = (A == 1) ? 1 : opt.mc_num / batch;
  const int64_t rows_per_seq = cfg ? 2 : 1;

  Rng rng(opt.seed);
  std::vector<int32_t> ids(static_cast<size_t>(b * rows_per_seq * L));
  std::vector<int32_t> rows, targets;
  std::vector<int64_t> row_of;  // which batch row each logit row belongs to
  std::vector<uint8_t> masked(static_cast<size_t>(A));
  std::vector<int64_t> perm(static_cast<size_t>(A));
  std::vector<double> batch_losses, row_losses, batch_rows(static_cast<size_t>(b));
  std::vector<float> mixed(cfg ? size_t(V) : 0);
  LikelihoodResult res;

  for (int64_t it = 0; it < n_batches; ++it) {
    int64_t k = 1 + int64_t(rng.below(uint64_t(A)));
    std::vector<int64_t> mc = likelihood_mask_counts(k, A, b);
    rows.clear();
    targets.clear();
    row_of.clear();
    for (int64_t r = 0; r < b; ++r) {
      // Choose exactly mc[r] answer positions uniformly: a partial Fisher-Yates shuffle.
      std::iota(perm.begin(), perm.end(), 0);
      std::fill(masked.begin(), masked.end(), 0);
      for (int64_t i = 0; i < mc[size_t(r)]; ++i) {
        int64_t j = i + int64_t(rng.below(uint64_t(A - i)));
        std::swap(perm[size_t(i)], perm[size_t(j)]);
        masked[size_t(perm[size_t(i)])] = 1;
      }
      for (int64_t c = 0; c < rows_per_seq; ++c) {
        int32_t* x = ids.data() + (r * rows_per_seq + c) * L;
        for (int64_t t = 0; t < P; ++t) x[t] = (c == 1) ? opt.mask_id : prompt[size_t(t)];
        for (int64_t t = 0; t < A; ++t) x[P + t] = masked[size_t(t)] ? opt.mask_id : answer[size_t(t)];
      }
      for (int64_t t = 0; t < A; ++t) {
        if (!masked[size_t(t)]) continue;
        for (int64_t c = 0; c < rows_per_seq; ++c)
          rows.push_back(int32_t((r * rows_per_seq + c) * L + P + t));
        targets.push_back(answer[size_t(t)]);
        row_of.push_back(r);
      }
    }
    ForwardArgs fa;
    fa.B = b * rows_per_seq;
    fa.T = L;
    fa.ids = ids.data();
    fa.causal = m.cfg.causal;
    fa.rows = rows.data();
    fa.n_rows = int64_t(rows.size());
    const float* logits = model_forward(m, fa, ws);
    res.model_calls++;
    std::fill(batch_rows.begin(), batch_rows.end(), 0.0);
    for (size_t i = 0; i < targets.size(); ++i) {
      const float* row = logits + int64_t(i * rows_per_seq) * V;
      if (cfg) {  // guided logits: un + (s+1) (cond - un)
        const float* un = row + V;
        for (int64_t j = 0; j < V; ++j)
          mixed[size_t(j)] = un[j] + float(opt.cfg_scale + 1) * (row[j] - un[j]);
        row = mixed.data();
      }
      double ce = -log_prob(row, V, targets[i]);
      double p = double(mc[size_t(row_of[i])]) / double(A);
      batch_rows[size_t(row_of[i])] += ce / p;
    }
    double loss = 0;
    for (double l : batch_rows) loss += l;
    batch_losses.push_back(loss / double(b));
    row_losses.insert(row_losses.end(), batch_rows.begin(), batch_rows.end());
  }
  res.log_likelihood = -mean_of(batch_losses);
  res.samples = int64_t(row_losses.size());
  if (A == 1) return res;  // exact: no Monte-Carlo error
  // The rows of one mini-batch are stratified over the mask count (not independent), so the spread
  // of mini-batch means is the exact basis for the error; with few mini-batches that spread is
  // itself too noisy (0 at one), and the rows are treated as independent instead, which
  // overstates the error of a stratified mean: honest, never 0.
  res.std_error = batch_losses.size() >= kMinBatchesForBatchError ? standard_error(batch_losses)
                                                                  : standard_error(row_losses);
  return res;
}

double autoregressive_log_likelihood(const Model& m, const std::vector<int32_t>& prompt,
                                     const std::vector<int32_t>& answer, Workspace& ws) {
  const int64_t P = int64_t(prompt.size()), A = int64_t(answer.size()), L = P + A;
  LLADA_CHECK(P > 0 && A > 0, "autoregressive likelihood needs a non-empty prompt and answer");
  std::vector<int32_t> ids(prompt);
  ids.insert(ids.end(), answer.begin(), answer.end());
  std::vector<int32_t> rows(static_cast<size_t>(A));
  for (int64_t t = 0; t < A; ++t) rows[size_t(t)] = int32_t(P - 1 + t);  // predicts token P+t
  ForwardArgs fa;
  fa.B = 1;
  fa.T = L;
  fa.ids = ids.data();
  fa.causal = true;
  fa.rows = rows.data();
  fa.n_rows = A;
  const float* logits = model_forward(m, fa, ws);
  double ll = 0;
  for (int64_t t = 0; t < A; ++t)
    ll += log_prob(logits + t * m.cfg.embedding_size, m.cfg.embedding_size, answer[size_t(t)]);
  return ll;
}

}  // namespace llada
