// llada likelihood: log p(answer | prompt) for one pair (text or token ids) or a JSON-lines file, and
// multiple-choice accuracy (the choice with the highest estimate wins). LLaDA gets the Monte-Carlo
// estimate of spec section 4 with its standard error; a causal model (the autoregressive baseline)
// gets its exact log-likelihood.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/sys.h"
#include "eval/likelihood.h"
#include "eval/task.h"
#include "tokenizer/tokenizer.h"

namespace {

using namespace llada;
using nlohmann::json;

struct Opts {
  std::string model, prompt, answer, prompt_ids, answer_ids, input, report;
  bool chat = false, json = false;
  int64_t mc_num = 128, batch = 16;
  double cfg_scale = 0;
  uint64_t seed = 0;
  int threads = 0;
};

struct Scorer {
  const Model& m;
  LikelihoodOptions lo;
  Workspace ws;

  LikelihoodResult operator()(const std::vector<int32_t>& p, const std::vector<int32_t>& a) {
    if (!m.cfg.causal) return estimate_log_likelihood(m, p, a, lo, ws);
    LikelihoodResult r;  // exact: no error
    r.log_likelihood = autoregressive_log_likelihood(m, p, a, ws);
    r.model_calls = 1;
    return r;
  }
  std::string method(size_t answer_tokens) const {
    if (m.cfg.causal) return "exact, causal model";
    if (answer_tokens == 1) return "exact, one-token answer";
    return strformat("Monte-Carlo, %lld samples", (long long)lo.mc_num);
  }
};

// Token ids given on the command line: every one a real token of the model (not the mask).
std::vector<int32_t> checked_ids(const std::string& list, const char* flag, const ModelConfig& c) {
  std::vector<int32_t> ids = cli::parse_int_list(list, flag);
  for (int32_t id : ids) {
    LLADA_CHECK(id >= 0 && id < c.vocab_size, "%s: token id %d is outside the vocabulary [0, %lld)", flag,
                id, (long long)c.vocab_size);
    LLADA_CHECK(c.causal || id != c.mask_token_id, "%s: token id %d is the mask token", flag, id);
  }
  return ids;
}

int run_pair(const Opts& o, Scorer& score, const Tokenizer* tok) {
  const ModelConfig& c = score.m.cfg;
  std::vector<int32_t> p, a;
  if (!o.prompt_ids.empty()) {
    p = checked_ids(o.prompt_ids, "--prompt-ids", c);
  } else {
    LLADA_CHECK(tok, "--prompt: %s has no tokenizer.json (give --prompt-ids)", o.model.c_str());
    p = o.chat ? encode_chat(*tok, {{"user", o.prompt}}, /*add_generation_prompt=*/true) : tok->encode(o.prompt);
  }
  if (!o.answer_ids.empty()) {
    a = checked_ids(o.answer_ids, "--answer-ids", c);
  } else {
    LLADA_CHECK(tok, "--answer: %s has no tokenizer.json (give --answer-ids)", o.model.c_str());
    a = tok->encode(o.answer);
  }
  LLADA_CHECK(!a.empty(), "--answer: the answer encodes to no tokens");
  LLADA_CHECK(!c.causal || !p.empty(), "--prompt: a causal model needs a prompt to predict the answer from");
  const LikelihoodResult r = score(p, a);
  if (o.json) {
    std::printf("%s\n", json{{"log_likelihood", r.log_likelihood}, {"std_error", r.std_error},
                             {"answer_tokens", a.size()}, {"prompt_tokens", p.size()},
                             {"method", score.method(a.size())}}
                            .dump()
                            .c_str());
  } else {
    std::printf("%.4f +- %.4f nats = log p(answer | prompt), %zu answer tokens (%s)\n", r.log_likelihood,
                r.std_error, a.size(), score.method(a.size()).c_str());
  }
  return 0;
}

int run_file(const Opts& o, Scorer& score, const Tokenizer& tok) {
  const eval::Task task = eval::load_task(o.input, 0, "--input");
  auto encode_prompt = [&](const std::string& text) {
    return o.chat ? encode_chat(tok, {{"user", text}}, /*add_generation_prompt=*/true) : tok.encode(text);
  };
  auto encode_answer = [&](const std::string& text, int64_t line, const char* what) {
    std::vector<int32_t> a = tok.encode(text);
    LLADA_CHECK(!a.empty(), "%s:%lld: %s encodes to no tokens", o.input.c_str(), (long long)line, what);
    return a;
  };
  Progress bar("likelihood", int64_t(task.items.size()), "items");
  int64_t correct = 0, mc_items = 0, answer_tokens = 0, answers = 0;
  double total_ll = 0, total_var = 0;
  json items = json::array();
  for (size_t i = 0; i < task.items.size(); ++i) {
    const eval::TaskItem& it = task.items[i];
    const std::vector<int32_t> p = encode_prompt(it.prompt);
    json rec{{"line", it.line}, {"prompt", it.prompt}};
    if (it.kind == eval::ItemKind::MultipleChoice) {
      std::vector<double> lls, ses;
      for (size_t k = 0; k < it.choices.size(); ++k) {
        const LikelihoodResult r = score(p, encode_answer(it.choices[k], it.line, "a choice"));
        lls.push_back(r.log_likelihood);
        ses.push_back(r.std_error);
      }
      const int64_t pick = int64_t(std::max_element(lls.begin(), lls.end()) - lls.begin());
      correct += pick == it.label;
      ++mc_items;
      rec.update({{"choices", it.choices}, {"log_likelihoods", lls}, {"std_errors", ses}, {"pick", pick},
                  {"label", it.label}});
    } else {
      const std::vector<int32_t> a = encode_answer(it.response, it.line, "the answer");
      const LikelihoodResult r = score(p, a);
      total_ll += r.log_likelihood;
      total_var += r.std_error * r.std_error;  // independent items: variances add
      answer_tokens += int64_t(a.size());
      ++answers;
      rec.update({{"answer", it.response}, {"log_likelihood", r.log_likelihood}, {"std_error", r.std_error},
                  {"answer_tokens", a.size()}});
    }
    items.push_back(std::move(rec));
    bar.update(int64_t(i + 1));
  }
  bar.finish();
  json out{{"items", task.items.size()}, {"method", score.method(2)}};
  if (mc_items) out.update({{"choice_items", mc_items}, {"accuracy", double(correct) / double(mc_items)}});
  if (answers) {
    const double se = std::sqrt(total_var);
    out.update({{"answer_items", answers}, {"log_likelihood_sum", total_ll}, {"std_error", se},
                {"answer_tokens", answer_tokens}, {"nats_per_token", -total_ll / double(answer_tokens)},
                {"nats_per_token_std_error", se / double(answer_tokens)}});
  }
  if (o.json) {
    std::printf("%s\n", out.dump().c_str());
  } else {
    if (answers)
      std::printf("%.4f +- %.4f nats = sum of log p(answer | prompt) over %lld items (%.4f nats per answer "
                  "token, %s)\n",
                  total_ll, std::sqrt(total_var), (long long)answers, -total_ll / double(answer_tokens),
                  score.method(2).c_str());
    if (mc_items)
      std::printf("accuracy %.2f%% (%lld of %lld multiple-choice items)\n", 100.0 * double(correct) / double(mc_items),
                  (long long)correct, (long long)mc_items);
  }
  if (!o.report.empty()) {
    out["model"] = o.model;
    out["input"] = o.input;
    out["options"] = {{"mc_num", o.mc_num}, {"batch", o.batch}, {"cfg_scale", o.cfg_scale},
                      {"seed", o.seed}, {"chat", o.chat}};
    out["per_item"] = std::move(items);
    write_file_atomic(o.report, out.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
  }
  return 0;
}

int run(const Opts& o, const std::vector<std::string>& given) {
  auto has = [&](const char* f) { return std::find(given.begin(), given.end(), f) != given.end(); };
  set_num_threads(o.threads);
  const bool pair = has("--prompt") || has("--prompt-ids") || has("--answer") || has("--answer-ids");
  LLADA_CHECK(pair != !o.input.empty(),
              "likelihood: give a pair (--prompt or --prompt-ids, and --answer or --answer-ids) or "
              "--input FILE.jsonl, not both");
  LLADA_CHECK(!(has("--prompt") && has("--prompt-ids")), "--prompt-ids: give --prompt or --prompt-ids, not both");
  LLADA_CHECK(!(has("--answer") && has("--answer-ids")), "--answer-ids: give --answer or --answer-ids, not both");
  LLADA_CHECK(!pair || ((has("--prompt") || has("--prompt-ids")) && (has("--answer") || has("--answer-ids"))),
              "likelihood: a pair needs a prompt (--prompt or --prompt-ids) and an answer (--answer or --answer-ids)");
  LLADA_CHECK(!(o.chat && has("--prompt-ids")), "--chat wraps a text prompt; --prompt-ids are used as given");
  LLADA_CHECK(o.report.empty() || !o.input.empty(), "--report: per-item reports are for --input files");
  LLADA_CHECK(o.mc_num >= 1, "--mc-num must be >= 1, got %lld", (long long)o.mc_num);
  LLADA_CHECK(o.batch >= 1, "--batch must be >= 1, got %lld", (long long)o.batch);
  LLADA_CHECK(std::isfinite(o.cfg_scale) && o.cfg_scale >= 0, "--cfg-scale must be a finite number >= 0");

  Model m = Model::load(o.model);
  LLADA_CHECK(!m.cfg.causal || o.cfg_scale == 0,
              "--cfg-scale: %s is a causal model; its likelihood is exact and has no guidance", o.model.c_str());
  m.pack_for_inference();
  std::unique_ptr<Tokenizer> tok;
  if (file_exists(o.model + "/tokenizer.json")) tok = std::make_unique<Tokenizer>(Tokenizer::load(o.model));
  Scorer score{m, {}, {}};
  score.lo.mc_num = o.mc_num;
  score.lo.batch = o.batch;
  score.lo.cfg_scale = o.cfg_scale;
  score.lo.seed = o.seed;
  score.lo.mask_id = int32_t(m.cfg.mask_token_id);
  if (pair) return run_pair(o, score, tok.get());
  LLADA_CHECK(tok, "--input: %s has no tokenizer.json to encode the file's text", o.model.c_str());
  return run_file(o, score, *tok);
}

cli::Registration reg(
    "likelihood", "Estimate log p(answer | prompt) (Monte-Carlo ELBO, exact for a causal model) or multiple-choice accuracy",
    [](CLI::App& app) {
      auto o = std::make_shared<Opts>();
      app.add_option("--model", o->model, "model directory")->required();
      app.add_option("--prompt", o->prompt, "prompt text");
      app.add_option("--answer", o->answer, "answer text");
      app.add_option("--prompt-ids", o->prompt_ids, "prompt as token ids, e.g. 12,7,99 (instead of --prompt)");
      app.add_option("--answer-ids", o->answer_ids, "answer as token ids (instead of --answer)");
      app.add_option("--input", o->input,
                     "JSON lines: {\"prompt\", \"answer\" (or \"response\")} or {\"prompt\", \"choices\": [...], \"label\": i}");
      app.add_option("--report", o->report, "with --input: write every item's log-likelihood as JSON");
      app.add_flag("--chat", o->chat, "wrap text prompts in the chat template");
      app.add_option("--mc-num", o->mc_num, "Monte-Carlo samples (default 128; below --batch: one mini-batch)");
      app.add_option("--batch", o->batch, "samples per model call (default 16)");
      app.add_option("--cfg-scale", o->cfg_scale, "classifier-free guidance scale (default 0)");
      app.add_option("--seed", o->seed, "random seed");
      app.add_option("--threads", o->threads, "OpenMP threads");
      app.add_flag("--json", o->json, "print JSON");
      return [o, &app]() -> int { return run(*o, cli::given_flags(app)); };
    });

}  // namespace
