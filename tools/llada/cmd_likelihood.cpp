// llada likelihood: Monte-Carlo estimates of log p(answer | prompt) (spec section 4) for one pair or
// a JSON-lines file, and multiple-choice accuracy (the choice with the highest estimate wins).
// A causal model (the autoregressive baseline) gets its exact log-likelihood instead.
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "core/progress.h"
#include "core/sys.h"
#include "eval/likelihood.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Opts {
  std::string model, prompt, answer, input;
  bool chat = false, json = false;
  int64_t mc_num = 128, batch = 16;
  double cfg_scale = 0;
  uint64_t seed = 0;
  int threads = 0;
};

std::vector<int32_t> encode_prompt(const llada::Tokenizer& tok, const std::string& text, bool chat) {
  if (chat) return llada::encode_chat(tok, {{"user", text}}, /*add_generation_prompt=*/true);
  return tok.encode(text);
}

double score(const llada::Model& m, const std::vector<int32_t>& p, const std::vector<int32_t>& a,
             const llada::LikelihoodOptions& lo, llada::Workspace& ws) {
  if (m.cfg.causal) return llada::autoregressive_log_likelihood(m, p, a, ws);
  return llada::estimate_log_likelihood(m, p, a, lo, ws).log_likelihood;
}

}  // namespace

static llada::cli::Registration reg(
    "likelihood", "Estimate log p(answer | prompt) (Monte-Carlo ELBO) or multiple-choice accuracy",
    [](CLI::App& app) {
      auto o = std::make_shared<Opts>();
      app.add_option("--model", o->model, "model directory (with tokenizer.json)")->required();
      app.add_option("--prompt", o->prompt, "prompt text");
      app.add_option("--answer", o->answer, "answer text");
      app.add_option("--input", o->input,
                     "JSON lines: {\"prompt\", \"answer\"} or {\"prompt\", \"choices\": [...], \"label\": i}");
      app.add_flag("--chat", o->chat, "wrap prompts in the chat template");
      app.add_option("--mc-num", o->mc_num, "Monte-Carlo samples (default 128)");
      app.add_option("--batch", o->batch, "samples per model call (default 16)");
      app.add_option("--cfg-scale", o->cfg_scale, "classifier-free guidance scale (default 0)");
      app.add_option("--seed", o->seed, "random seed");
      app.add_option("--threads", o->threads, "OpenMP threads");
      app.add_flag("--json", o->json, "print JSON");
      return [o]() -> int {
        llada::set_num_threads(o->threads);
        LLADA_CHECK(!o->input.empty() || (!o->prompt.empty() && !o->answer.empty()),
                    "likelihood: give --prompt and --answer, or --input FILE.jsonl");
        llada::Model m = llada::Model::load(o->model);
        m.pack_for_inference();
        llada::Tokenizer tok = llada::Tokenizer::load(o->model);
        llada::LikelihoodOptions lo;
        lo.mc_num = o->mc_num;
        lo.batch = o->batch;
        lo.cfg_scale = o->cfg_scale;
        lo.seed = o->seed;
        lo.mask_id = int32_t(m.cfg.mask_token_id);
        llada::Workspace ws;
        if (o->input.empty()) {
          auto p = encode_prompt(tok, o->prompt, o->chat);
          auto a = tok.encode(o->answer);
          double ll = 0, se = 0;
          if (m.cfg.causal) {
            ll = llada::autoregressive_log_likelihood(m, p, a, ws);
          } else {
            auto r = llada::estimate_log_likelihood(m, p, a, lo, ws);
            ll = r.log_likelihood;
            se = r.std_error;
          }
          if (o->json)
            std::printf("%s\n", nlohmann::json{{"log_likelihood", ll}, {"std_error", se},
                                               {"answer_tokens", a.size()}}.dump().c_str());
          else
            std::printf("log p(answer | prompt) = %.4f nats (+- %.4f), %zu answer tokens\n", ll, se,
                        a.size());
          return 0;
        }
        std::ifstream in(o->input);
        LLADA_CHECK(in.good(), "%s: cannot open", o->input.c_str());
        std::vector<nlohmann::json> items;
        std::string line;
        for (int64_t ln = 1; std::getline(in, line); ++ln) {
          if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
          try {
            items.push_back(nlohmann::json::parse(line));
          } catch (const std::exception& e) {
            llada::fail(llada::strformat("%s:%lld: invalid JSON: %s", o->input.c_str(), (long long)ln,
                                         e.what()));
          }
          LLADA_CHECK(items.back().contains("prompt") && items.back()["prompt"].is_string(),
                      "%s:%lld: missing string field \"prompt\"", o->input.c_str(), (long long)ln);
        }
        llada::Progress bar("likelihood", int64_t(items.size()), "items");
        int64_t correct = 0, mc_items = 0;
        double total_ll = 0;
        int64_t total_tokens = 0;
        for (size_t i = 0; i < items.size(); ++i) {
          const auto& it = items[i];
          auto p = encode_prompt(tok, it["prompt"].get<std::string>(), o->chat);
          if (it.contains("choices")) {
            LLADA_CHECK(it["choices"].is_array() && !it["choices"].empty() && it.contains("label"),
                        "%s: item %zu: \"choices\" must be a non-empty array with a \"label\"",
                        o->input.c_str(), i + 1);
            int best = -1;
            double best_ll = -1e300;
            for (size_t c = 0; c < it["choices"].size(); ++c) {
              double ll = score(m, p, tok.encode(it["choices"][c].get<std::string>()), lo, ws);
              if (ll > best_ll) { best_ll = ll; best = int(c); }
            }
            correct += best == it["label"].get<int>();
            mc_items++;
          } else {
            LLADA_CHECK(it.contains("answer") && it["answer"].is_string(),
                        "%s: item %zu: needs \"answer\" or \"choices\"", o->input.c_str(), i + 1);
            auto a = tok.encode(it["answer"].get<std::string>());
            total_ll += score(m, p, a, lo, ws);
            total_tokens += int64_t(a.size());
          }
          bar.update(int64_t(i + 1));
        }
        bar.finish();
        nlohmann::json out{{"items", items.size()}};
        if (mc_items) out["accuracy"] = double(correct) / double(mc_items);
        if (total_tokens) {
          out["log_likelihood_sum"] = total_ll;
          out["nats_per_token"] = -total_ll / double(total_tokens);
        }
        std::printf("%s\n", out.dump().c_str());
        return 0;
      };
    });
