#include "eval/perplexity.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "train/shards.h"

namespace llada::eval {

bool is_perplexity_file(const std::string& path) {
  auto ends = [&](const char* suffix) {
    const std::string s(suffix);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  return ends(".txt") || ends(".tok");
}

std::vector<int32_t> load_perplexity_tokens(const std::string& path, const Tokenizer& tok,
                                            int64_t vocab_size) {
  std::vector<int32_t> ids;
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".tok") == 0) {
    auto shard = train::TokenShard::open(path);
    LLADA_CHECK(shard->vocab_size() <= vocab_size,
                "--task %s: the shard's vocabulary (%lld) is larger than the model's (%lld): it was "
                "prepared with another tokenizer",
                path.c_str(), (long long)shard->vocab_size(), (long long)vocab_size);
    ids.resize(size_t(shard->n_tokens()));
    shard->copy(0, shard->n_tokens(), ids.data());
  } else {
    std::ifstream f(path, std::ios::binary);
    LLADA_CHECK(f.good(), "--task %s: cannot open the file", path.c_str());
    std::stringstream text;
    text << f.rdbuf();
    ids = tok.encode(text.str(), false);
  }
  LLADA_CHECK(ids.size() >= 2, "--task %s: fewer than 2 tokens, nothing to score", path.c_str());
  return ids;
}

std::vector<std::vector<int32_t>> perplexity_windows(const std::vector<int32_t>& tokens, int64_t window,
                                                     int64_t limit) {
  LLADA_CHECK(window >= 2, "--window must be >= 2 (one context token and one scored), got %lld",
              (long long)window);
  std::vector<std::vector<int32_t>> out;
  for (size_t b = 0; b + 1 < tokens.size(); b += size_t(window)) {
    if (limit > 0 && int64_t(out.size()) >= limit) break;
    const size_t e = std::min(tokens.size(), b + size_t(window));
    out.emplace_back(tokens.begin() + long(b), tokens.begin() + long(e));
  }
  return out;
}

WindowScore score_window(const Model& m, const std::vector<int32_t>& window, const LikelihoodOptions& lo,
                         Workspace& ws) {
  const std::vector<int32_t> context(window.begin(), window.begin() + 1);
  const std::vector<int32_t> rest(window.begin() + 1, window.end());
  WindowScore s;
  s.tokens = int64_t(rest.size());
  if (m.cfg.causal) {
    s.nll = -autoregressive_log_likelihood(m, context, rest, ws);
  } else {
    const LikelihoodResult r = estimate_log_likelihood(m, context, rest, lo, ws);
    s.nll = -r.log_likelihood;
    s.std_error = r.std_error;
  }
  return s;
}

PerplexitySummary summarize(const std::vector<WindowScore>& scores) {
  PerplexitySummary p;
  double nll = 0;
  for (const WindowScore& w : scores) {
    nll += w.nll;
    p.tokens += w.tokens;
  }
  p.windows = int64_t(scores.size());
  if (p.tokens == 0) return p;
  p.nll_per_token = nll / double(p.tokens);
  if (p.windows == 1) {
    p.std_error = scores[0].std_error / double(p.tokens);
    return p;
  }
  // A ratio of sums over windows: its linearised standard error (the windows are the samples;
  // each one's Monte-Carlo noise is part of their spread).
  double ss = 0;
  for (const WindowScore& w : scores) {
    const double d = w.nll - p.nll_per_token * double(w.tokens);
    ss += d * d;
  }
  const double n = double(p.windows), mean_tokens = double(p.tokens) / n;
  p.std_error = std::sqrt(ss / (n * (n - 1))) / mean_tokens;
  return p;
}

}  // namespace llada::eval
