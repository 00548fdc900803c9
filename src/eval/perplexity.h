// Perplexity tasks (`llada eval --task FILE.txt|FILE.tok`): held-out text cut into windows, scored
// as negative log-likelihood per token so LLaDA and its autoregressive twin compare on one scale.
// Each window's first token is context and the rest are scored: exactly (a causal model's
// next-token log-probabilities) or by the diffusion bound (spec section 4's estimator of
// log p(rest | first token), an upper bound on the NLL that converges with --mc-num).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "eval/likelihood.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace llada::eval {

// True for the files a perplexity task reads: plain text (.txt) or a token shard (.tok).
bool is_perplexity_file(const std::string& path);

// The file's tokens: a shard's as stored (documents with their EOS), text encoded by `tok`.
std::vector<int32_t> load_perplexity_tokens(const std::string& path, const Tokenizer& tok,
                                            int64_t vocab_size);

// Consecutive windows of `window` tokens (the last may be shorter; one of a single token is
// dropped, having nothing to score); `limit` > 0 keeps the first `limit`.
std::vector<std::vector<int32_t>> perplexity_windows(const std::vector<int32_t>& tokens, int64_t window,
                                                     int64_t limit);

struct WindowScore {
  double nll = 0;        // -log p(tokens[1:] | tokens[0]) in nats (an upper bound for LLaDA)
  double std_error = 0;  // Monte-Carlo error of nll (0 when exact)
  int64_t tokens = 0;    // tokens scored (window length - 1)
};
WindowScore score_window(const Model& m, const std::vector<int32_t>& window, const LikelihoodOptions& lo,
                         Workspace& ws);

struct PerplexitySummary {
  double nll_per_token = 0;  // sum of nll / sum of tokens
  double std_error = 0;      // its standard error over windows (Monte-Carlo noise included)
  int64_t tokens = 0, windows = 0;
};
PerplexitySummary summarize(const std::vector<WindowScore>& scores);

}  // namespace llada::eval
