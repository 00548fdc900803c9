// `llada eval --model DIR --task FILE [--task FILE ...]`: runs task files (eval/task.h, and text or
// token shards as perplexity tasks, eval/perplexity.h) through the
// model, scores every item, prints a summary table (per task and per metadata value) and writes a
// JSON report with every item's prompt, output, expected answer and score. Generation items decode
// with the generate command's flags (reverse diffusion, or left to right for a causal model);
// multiple-choice items pick the choice of highest log-likelihood (the Monte-Carlo estimate of
// spec section 4 for LLaDA, the exact one for a causal model).
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/sys.h"
#include "eval/likelihood.h"
#include "eval/perplexity.h"
#include "eval/task.h"
#include "generation_flags.h"
#include "sample/decoder.h"
#include "sample/session.h"

namespace {

using namespace llada;
using namespace llada::sample;
using nlohmann::json;

struct EvalArgs {
  std::string model, metric = "contains", report;
  std::vector<std::string> tasks;
  bool chat = false;
  int64_t limit = 0, mc_num = 128, mc_batch = 16, window = 128;
  int threads = 0;
  cli::GenerationFlags gen;
  std::vector<std::string> given;
};

// Metadata values worth a summary row: strings, numbers and booleans of a field with at most this
// many distinct values in the task.
constexpr size_t kMaxGroups = 24;

struct Scored {
  double sum = 0;
  int64_t n = 0;
  double mean() const { return n ? sum / double(n) : 0.0; }
};

json run_task(const eval::Task& task, const EvalArgs& a, Session& s, Decoder& dec,
              const GenerateOptions& o, eval::Metric metric, json& items_out) {
  const Tokenizer& tok = s.tokenizer("--task");
  auto encode_prompt = [&](const std::string& text) {
    return a.chat ? first_chat_prompt(s, text) : tok.encode(text, false);
  };
  const int64_t n = int64_t(task.items.size());
  std::vector<double> scores(static_cast<size_t>(n), 0.0);
  std::vector<json> records(static_cast<size_t>(n));
  Progress bar("eval " + task.path, n, "items");
  int64_t done = 0;
  auto log_progress = [&] {
    bar.update(done);
    if (!Progress::enabled() && (done % 50 == 0 || done == n))
      std::fprintf(stderr, "eval %s: %lld/%lld items\n", task.path.c_str(), (long long)done, (long long)n);
  };

  // Generation items, in batches of --batch-size (left-padded by the decoder).
  std::vector<int64_t> gen_idx;
  for (int64_t i = 0; i < n; ++i)
    if (task.items[size_t(i)].kind == eval::ItemKind::Generation) gen_idx.push_back(i);
  std::vector<std::vector<int32_t>> prompts;
  for (int64_t i : gen_idx) prompts.push_back(encode_prompt(task.items[size_t(i)].prompt));
  for (const auto& p : prompts) dec.validate({p}, o);  // every error before any work
  const size_t B = size_t(a.gen.batch_size);
  GenerateStats gen_stats;  // over the generation items: the sampler's cost beside its accuracy
  for (size_t b0 = 0; b0 < gen_idx.size(); b0 += B) {
    const size_t b1 = std::min(gen_idx.size(), b0 + B);
    const GenerateResult r =
        dec.run({prompts.begin() + long(b0), prompts.begin() + long(b1)}, o);
    gen_stats.nfe += r.stats.nfe;
    gen_stats.committed += r.stats.committed;
    gen_stats.generated += r.stats.generated;
    gen_stats.seconds += r.stats.seconds;
    for (size_t k = b0; k < b1; ++k) {
      const eval::TaskItem& it = task.items[size_t(gen_idx[k])];
      const std::string out = answer_text(s, r.tokens[k - b0]);
      const double sc = eval::score_generation(out, it.response, metric);
      scores[size_t(gen_idx[k])] = sc;
      records[size_t(gen_idx[k])] = {{"output", out}, {"expected", it.response}};
      ++done;
    }
    log_progress();
  }

  // Multiple-choice items: the choice of highest log-likelihood.
  LikelihoodOptions lo;
  lo.mc_num = a.mc_num;
  lo.batch = a.mc_batch;
  lo.cfg_scale = o.cfg_scale;
  lo.mask_id = int32_t(s.model.cfg.mask_token_id);
  Workspace ws;
  for (int64_t i = 0; i < n; ++i) {
    const eval::TaskItem& it = task.items[size_t(i)];
    if (it.kind != eval::ItemKind::MultipleChoice) continue;
    const auto p = encode_prompt(it.prompt);
    std::vector<double> lls;
    for (size_t c = 0; c < it.choices.size(); ++c) {
      const auto ans = tok.encode(it.choices[c], false);
      LLADA_CHECK(!ans.empty(), "%s:%lld: choices[%zu] encodes to no tokens", task.path.c_str(),
                  (long long)it.line, c);
      // Seeded by the item, not by its position in a batch: the same item scores the same anywhere.
      // Every choice gets the same seed (common random numbers): each estimate keeps its own
      // distribution, but choices of equal length share k and the masked positions, so the noise
      // of their difference, which decides the pick, mostly cancels.
      lo.seed = o.seed + uint64_t(it.line) * 1000003ull;
      lls.push_back(s.model.cfg.causal ? autoregressive_log_likelihood(s.model, p, ans, ws)
                                       : estimate_log_likelihood(s.model, p, ans, lo, ws).log_likelihood);
    }
    const int64_t pick = int64_t(std::max_element(lls.begin(), lls.end()) - lls.begin());
    scores[size_t(i)] = pick == it.label ? 1.0 : 0.0;
    records[size_t(i)] = {{"choices", it.choices}, {"log_likelihoods", lls}, {"pick", pick},
                          {"label", it.label}};
    ++done;
    log_progress();
  }
  bar.finish();

  // Per-item records and the groups of the summary.
  Scored all;
  std::map<std::string, std::map<std::string, Scored>> groups;
  std::map<std::string, bool> groupable;
  for (const auto& it : task.items)
    for (auto& [k, v] : it.meta.items()) {
      if (!groupable.count(k)) groupable[k] = true;
      if (!(v.is_string() || v.is_number_integer() || v.is_boolean())) groupable[k] = false;
    }
  for (int64_t i = 0; i < n; ++i) {
    const eval::TaskItem& it = task.items[size_t(i)];
    json rec = records[size_t(i)];
    rec["task"] = task.path;
    rec["line"] = it.line;
    rec["prompt"] = it.prompt;
    rec["score"] = scores[size_t(i)];
    rec["meta"] = it.meta;
    items_out.push_back(rec);
    all.sum += scores[size_t(i)];
    ++all.n;
    for (auto& [k, v] : it.meta.items())
      if (groupable[k]) {
        auto& g = groups[k][v.is_string() ? v.get<std::string>() : v.dump()];
        g.sum += scores[size_t(i)];
        ++g.n;
      }
  }
  json summary = {{"task", task.path}, {"items", all.n}, {"score", all.mean()},
                  {"metric", metric_name(metric)}, {"groups", json::object()}};
  if (!gen_idx.empty())
    summary["generation"] = {{"model_calls", gen_stats.nfe},
                             {"seconds", gen_stats.seconds},
                             {"committed", gen_stats.committed},
                             {"tokens_per_call", gen_stats.tokens_per_call()},
                             {"tokens_per_second", gen_stats.tokens_per_second()}};
  for (auto& [k, vals] : groups) {
    if (vals.size() > kMaxGroups || vals.size() < 2) continue;
    for (auto& [v, sc] : vals) summary["groups"][k][v] = {{"items", sc.n}, {"score", sc.mean()}};
  }
  return summary;
}

// A perplexity task: the file's windows, each scored as NLL per token (exact for a causal model,
// the diffusion bound for LLaDA).
json run_perplexity_task(const std::string& path, const EvalArgs& a, Session& s, const GenerateOptions& o,
                         json& items_out) {
  const std::vector<int32_t> tokens =
      eval::load_perplexity_tokens(path, s.tokenizer("--task"), s.model.cfg.vocab_size);
  LLADA_CHECK(a.window <= s.model.cfg.max_sequence_length, "--window %lld exceeds the model's maximum length %lld",
              (long long)a.window, (long long)s.model.cfg.max_sequence_length);
  const auto windows = eval::perplexity_windows(tokens, a.window, a.limit);
  LikelihoodOptions lo;
  lo.mc_num = a.mc_num;
  lo.batch = a.mc_batch;
  lo.mask_id = int32_t(s.model.cfg.mask_token_id);
  Workspace ws;
  std::vector<eval::WindowScore> scores;
  Progress bar("eval " + path, int64_t(windows.size()), "windows");
  for (size_t i = 0; i < windows.size(); ++i) {
    lo.seed = o.seed + uint64_t(i) * 1000003ull;  // by window: the same window scores the same anywhere
    const eval::WindowScore w = eval::score_window(s.model, windows[i], lo, ws);
    scores.push_back(w);
    items_out.push_back({{"task", path}, {"window", i}, {"tokens", w.tokens}, {"nll", w.nll},
                         {"std_error", w.std_error}, {"score", w.nll / double(w.tokens)}});
    bar.update(int64_t(i + 1));
    if (!Progress::enabled() && ((i + 1) % 50 == 0 || i + 1 == windows.size()))
      std::fprintf(stderr, "eval %s: %zu/%zu windows\n", path.c_str(), i + 1, windows.size());
  }
  bar.finish();
  const eval::PerplexitySummary p = eval::summarize(scores);
  return {{"task", path}, {"items", p.windows}, {"metric", "nll_per_token"}, {"score", p.nll_per_token},
          {"std_error", p.std_error}, {"tokens", p.tokens}, {"perplexity", std::exp(p.nll_per_token)},
          {"bound", !s.model.cfg.causal}, {"groups", json::object()}};
}

// `s` padded with spaces to `width` terminal columns (CJK and other wide characters take two).
std::string pad(const std::string& s, size_t width) {
  size_t cols = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    cols += len >= 3 ? 2 : 1;  // 3- and 4-byte sequences: CJK, kana, hangul, emoji (wide)
    i += len;
  }
  return cols >= width ? s : s + std::string(width - cols, ' ');
}

void print_summary(const json& tasks) {
  auto row = [](const std::string& task, const std::string& group, const std::string& items,
                const std::string& score) {
    std::printf("%s %s %8s %8s\n", pad(task, 40).c_str(), pad(group, 28).c_str(), items.c_str(),
                score.c_str());
  };
  row("task", "group", "items", "score");
  for (const auto& t : tasks) {
    if (t["metric"] == "nll_per_token") {  // lower is better; a bound for a diffusion model
      row(t["task"].get<std::string>(), "(windows)", std::to_string(t["items"].get<int64_t>()),
          strformat("%.4f +- %.4f nats/token%s (perplexity %.2f)", t["score"].get<double>(),
                    t["std_error"].get<double>(), t["bound"].get<bool>() ? " <=" : "",
                    t["perplexity"].get<double>()));
      continue;
    }
    row(t["task"].get<std::string>(), "(all)", std::to_string(t["items"].get<int64_t>()),
        strformat("%.2f%%", 100.0 * t["score"].get<double>()));
    for (auto& [field, vals] : t["groups"].items())
      for (auto& [v, sc] : vals.items())
        row("", field + "=" + v, std::to_string(sc["items"].get<int64_t>()),
            strformat("%.2f%%", 100.0 * sc["score"].get<double>()));
  }
}

int run_eval(const EvalArgs& a) {
  set_num_threads(a.threads);
  LLADA_CHECK(!a.tasks.empty(), "--task: give at least one task file");
  LLADA_CHECK(a.limit >= 0, "--limit must be >= 0, got %lld", (long long)a.limit);
  LLADA_CHECK(a.mc_num >= 1 && a.mc_batch >= 1, "--mc-num and --mc-batch must be >= 1");
  const eval::Metric metric = eval::parse_metric(a.metric);
  const GenerateOptions o = a.gen.resolve();
  LLADA_CHECK(a.window >= 2, "--window must be >= 2, got %lld", (long long)a.window);
  std::vector<eval::Task> tasks;
  for (const auto& path : a.tasks)  // every file checked before any work
    if (!eval::is_perplexity_file(path)) tasks.push_back(eval::load_task(path, a.limit));

  Session s = Session::open(a.model);
  check_family_options(s, a.given);
  (void)s.tokenizer("--task");
  Decoder dec(s, a.gen.cache_mode());
  json summaries = json::array(), items = json::array();
  const double t0 = now_seconds();
  size_t next = 0;
  for (const auto& path : a.tasks)  // in the order given
    summaries.push_back(eval::is_perplexity_file(path) ? run_perplexity_task(path, a, s, o, items)
                                                       : run_task(tasks[next++], a, s, dec, o, metric, items));
  const double seconds = now_seconds() - t0;
  print_summary(summaries);
  std::printf("%lld items in %.1f s (%.2f items/s)\n", (long long)items.size(), seconds,
              double(items.size()) / std::max(seconds, 1e-9));
  if (!a.report.empty()) {
    const json report = {
        {"model", a.model},
        {"options", [&] {
           json j = cli::options_json(o);
           j.update({{"cache", a.gen.cache}, {"batch_size", a.gen.batch_size}, {"chat", a.chat},
                     {"metric", a.metric}, {"mc_num", a.mc_num}, {"limit", a.limit}, {"window", a.window},
                     {"autoregressive", s.model.cfg.causal}});
           return j;
         }()},
        {"seconds", seconds},
        {"tasks", summaries},
        {"items", items}};
    write_file_atomic(a.report, report.dump(1, ' ', false, json::error_handler_t::replace) + "\n");
    std::printf("report: %s\n", a.report.c_str());
  }
  return 0;
}

cli::Registration reg("eval", "Score a model on task files: generation (contains/exact/number), multiple choice, perplexity", [](CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  app.add_option("--model", a->model, "model directory (with tokenizer.json)")->required();
  app.add_option("--task", a->tasks,
                 "JSON-lines task file, or .txt / .tok for perplexity (repeat for several)")->required();
  app.add_option("--metric", a->metric, "generation items: contains (default) | exact | number");
  app.add_option("--limit", a->limit, "first N items of each task (default: all)");
  app.add_option("--report", a->report, "write every item's prompt, output and score as JSON");
  app.add_flag("--chat", a->chat, "wrap prompts in the chat template (user turn + assistant header)");
  app.add_option("--mc-num", a->mc_num, "multiple choice: Monte-Carlo samples per choice (default 128)");
  app.add_option("--mc-batch", a->mc_batch, "multiple choice: samples per model call (default 16)");
  app.add_option("--window", a->window, "perplexity tasks: tokens per window, the first as context (default 128)");
  app.add_option("--threads", a->threads, "OpenMP threads (default: all)");
  a->gen.add_to(app);
  return [a, &app]() -> int {
    a->given = cli::given_fields(app);
    return run_eval(*a);
  };
});

}  // namespace
