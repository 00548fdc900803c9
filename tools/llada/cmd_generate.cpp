// `llada generate`: text (or ids) in, generated continuation out, by reverse diffusion (spec
// sections 4 and 5). All sampling logic lives in src/sample; this file only parses and prints.
#include <algorithm>
#include <climits>
#include <cstdio>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "generation_flags.h"
#include "core/error.h"
#include "core/jsonl.h"
#include "core/sys.h"
#include "sample/decoder.h"
#include "sample/session.h"

namespace {

using namespace llada;
using namespace llada::sample;

struct GenArgs {
  std::string model, prompt, prompt_ids, input, output = "text";
  bool chat = false, show = false, stats = false, stream = false;
  int threads = 0, warmup = 0, repeat = 1;
  cli::GenerationFlags gen;
  std::vector<std::string> given;  // the flags set on the command line
};

// Prompts as ids, from exactly one of --prompt, --prompt-ids, --input.
std::vector<std::vector<int32_t>> read_prompts(const GenArgs& a, const Session& s) {
  const int given = !a.prompt.empty() + !a.prompt_ids.empty() + !a.input.empty();
  LLADA_CHECK(given == 1, "give exactly one of --prompt, --prompt-ids, --input (got %d)", given);
  auto from_text = [&](const std::string& text, const char* flag) {
    if (a.chat) return first_chat_prompt(s, text);
    return s.tokenizer(flag).encode(text, false);
  };
  std::vector<std::vector<int32_t>> out;
  if (!a.prompt.empty()) out.push_back(from_text(a.prompt, "--prompt"));
  if (!a.prompt_ids.empty()) {
    LLADA_CHECK(!a.chat, "--chat applies to text prompts (--prompt or --input with \"prompt\")");
    out.push_back(cli::parse_int_list(a.prompt_ids, "--prompt-ids"));
  }
  if (!a.input.empty()) {
    for_each_jsonl(a.input, "--input", [&](const nlohmann::json& j, const std::string& where, int64_t) {
      if (j.contains("prompt_ids")) {
        out.push_back(json_int32_array(j, "prompt_ids", where));
      } else {
        LLADA_CHECK(j.contains("prompt"), "%s: expected a \"prompt\" string or \"prompt_ids\" array", where.c_str());
        out.push_back(from_text(json_string(j, "prompt", where), "--input"));
      }
      return true;
    });
    LLADA_CHECK(!out.empty(), "--input %s: no prompts", a.input.c_str());
  }
  return out;
}

void print_stats(const GenerateStats& st, const char* cache) {
  std::fprintf(stderr,
               "stats: %.3f s, NFE %lld, tokens/call %.2f, ms/call %.1f, tokens/s %.1f (%lld non-EOS of "
               "%lld committed; cache %s)\n",
               st.seconds, (long long)st.nfe, st.tokens_per_call(), st.ms_per_call(), st.tokens_per_second(),
               (long long)st.generated, (long long)st.committed, cache);
}

int run_generate(GenArgs a) {
  set_num_threads(a.threads);
  LLADA_CHECK(a.output == "text" || a.output == "ids" || a.output == "json",
              "--output: expected text, ids or json, got '%s'", a.output.c_str());
  LLADA_CHECK(a.warmup >= 0, "--warmup must be >= 0, got %d", a.warmup);
  LLADA_CHECK(a.repeat >= 1, "--repeat must be >= 1, got %d", a.repeat);
  const GenerateOptions o = a.gen.resolve();
  const CacheMode cache = a.gen.cache_mode();
  const int64_t batch_size = a.gen.batch_size;

  Session s = Session::open(a.model);
  check_family_options(s, a.given);
  const auto prompts = read_prompts(a, s);
  Decoder dec(s, cache);
  for (size_t i = 0; i < prompts.size(); ++i) dec.validate({prompts[i]}, o);  // fail before any work
  if (a.output == "text") (void)s.tokenizer("--output text");

  LLADA_CHECK(!a.stream || (a.output == "text" && batch_size == 1 && !a.show),
              "--stream prints one text answer at a time: it needs --output text, --batch-size 1 and no --show");
  // --stream: the answer's committed prefix printed as it grows (committed ids never change).
  std::string streamed;
  const StepObserver stream = [&](const StepView& v) {
    const CommittedPrefix p = committed_prefix(s.sp, v.ids + (v.T - o.gen_length), o.gen_length);
    const std::string text = s.tokenizer("--stream").decode(p.ids, /*skip_special=*/true);
    const size_t n = p.ended ? text.size() : printable_length(text);
    if (n > streamed.size() && text.compare(0, streamed.size(), streamed) == 0) {
      std::fwrite(text.data() + streamed.size(), 1, n - streamed.size(), stdout);
      std::fflush(stdout);
      streamed = text.substr(0, n);
    }
    return true;
  };
  const StepObserver show = a.show ? terminal_canvas(s) : a.stream ? stream : StepObserver{};
  // Untimed runs first (benchmarking): one-time costs (first-touch memory, thread start-up) then
  // stay out of --stats, which is what a long-running process (chat, a server) sees.
  for (int w = 0; w < a.warmup; ++w) {
    const size_t n = std::min(prompts.size(), size_t(batch_size));
    (void)dec.run({prompts.begin(), prompts.begin() + long(n)}, o);
  }
  // One pass over all prompts in batches; the first prints its output, --repeat's others do not.
  auto pass = [&](bool print) {
    GenerateStats total;
    for (size_t b0 = 0; b0 < prompts.size(); b0 += size_t(batch_size)) {
      const size_t b1 = std::min(prompts.size(), b0 + size_t(batch_size));
      std::vector<std::vector<int32_t>> batch(prompts.begin() + long(b0), prompts.begin() + long(b1));
      const GenerateResult r = dec.run(batch, o, print ? show : StepObserver{});
      for (size_t i = 0; print && i < batch.size(); ++i) {
        const auto& g = r.tokens[i];
        if (a.output == "ids") {
          std::printf("%s\n", join_ids(g).c_str());
        } else if (a.output == "text") {
          const std::string text = answer_text(s, g);
          // --stream printed the prefix already; the rest (text held back until the answer ended).
          const bool cont = a.stream && text.compare(0, streamed.size(), streamed) == 0;
          std::printf("%s\n", cont ? text.c_str() + streamed.size() : text.c_str());
          streamed.clear();
        } else {
          nlohmann::json j{{"index", b0 + i}, {"prompt_ids", batch[i]}, {"ids", g}};
          if (s.tok) j["text"] = answer_text(s, g);
          // Decoded bytes may be invalid UTF-8 (a token can end mid-character): replace, never throw.
          std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        }
      }
      std::fflush(stdout);
      total.nfe += r.stats.nfe;
      total.rows += r.stats.rows;
      total.committed += r.stats.committed;
      total.generated += r.stats.generated;
      total.seconds += r.stats.seconds;
      total.model_seconds += r.stats.model_seconds;
    }
    return total;
  };
  GenerateStats total = pass(true);
  // --repeat: the same generations again, and the timing of the median run (a sub-second
  // generation on a shared machine varies by tens of percent from run to run).
  if (a.repeat > 1) {
    std::vector<GenerateStats> runs{total};
    for (int i = 1; i < a.repeat; ++i) runs.push_back(pass(false));
    std::sort(runs.begin(), runs.end(),
              [](const GenerateStats& x, const GenerateStats& y) { return x.seconds < y.seconds; });
    total.seconds = runs[runs.size() / 2].seconds;
    total.model_seconds = runs[runs.size() / 2].model_seconds;
  }
  if (a.stats) print_stats(total, dec.autoregressive() ? "kv (autoregressive)" : cache_mode_name(cache));
  return 0;
}

cli::Registration reg("generate", "Generate text: reverse diffusion (LLaDA), or left to right for a causal model", [](CLI::App& app) {
  auto a = std::make_shared<GenArgs>();
  app.add_option("--model", a->model, "model directory")->required();
  app.add_option("--prompt", a->prompt, "prompt text (needs the model's tokenizer.json)");
  app.add_option("--prompt-ids", a->prompt_ids, "prompt as token ids, e.g. 1,2,3");
  app.add_option("--input", a->input, "JSONL file: one {\"prompt\": text} or {\"prompt_ids\": [..]} per line");
  app.add_flag("--chat", a->chat, "wrap text prompts in the chat template (user turn + assistant header)");
  a->gen.add_to(app);
  app.add_option("--warmup", a->warmup,
                 "untimed generations of the first batch before the real ones (benchmarking; default 0)");
  app.add_option("--repeat", a->repeat,
                 "run the generations N times and report the median run in --stats (default 1)");
  app.add_option("--output", a->output, "text (default) | ids | json");
  app.add_flag("--show", a->show, "draw the canvas on stderr at every step");
  app.add_flag("--stream", a->stream, "print the answer as it is committed (text output, one prompt at a time)");
  app.add_flag("--stats", a->stats, "print NFE, tokens per call, ms per call and tokens/s on stderr");
  app.add_option("--threads", a->threads, "OpenMP threads (default: all)");
  return [a, &app]() -> int {
    a->given = cli::given_fields(app);
    return run_generate(*a);
  };
});

}  // namespace
