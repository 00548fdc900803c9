// `llada chat`: a multi-turn conversation on stdin/stdout. Each turn's prompt is the whole history
// as spec section 1 says (src/sample/session.h: next_chat_prompt).
#include <climits>
#include <cstdio>
#include <iostream>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "core/sys.h"
#include "sample/decoder.h"
#include "sample/session.h"

namespace {

using namespace llada;
using namespace llada::sample;

struct ChatArgs {
  std::string model, remasking = "low_confidence", cache = "none";
  int64_t gen_length = 128, steps = INT64_MIN, block_length = 32;  // steps unset: = gen_length
  bool show = false, stats = false;
  int threads = 0;
  GenerateOptions o;
  std::vector<std::string> given;  // the flags set on the command line
};

int run_chat(ChatArgs a) {
  set_num_threads(a.threads);
  GenerateOptions o = a.o;
  o.gen_length = a.gen_length;
  o.steps = a.steps == INT64_MIN ? a.gen_length : a.steps;
  o.block_length = std::min(a.block_length, a.gen_length);
  o.remasking = parse_remasking(a.remasking);
  Session s = Session::open(a.model);
  (void)s.tokenizer("chat");
  check_family_flags(s, a.given);
  Decoder dec(s, parse_cache_mode(a.cache));
  const StepObserver show = a.show ? terminal_canvas(s) : StepObserver{};
  std::vector<int32_t> prompt, last;
  std::string line;
  bool first = true;
  for (;;) {
    std::fputs("> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line) || line == "/quit" || line == "/exit") break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    prompt = first ? first_chat_prompt(s, line) : next_chat_prompt(s, prompt, last, line);
    first = false;
    dec.validate({prompt}, o);
    const GenerateResult r = dec.run({prompt}, o, show);
    last = r.tokens[0];
    std::printf("%s\n", answer_text(s, last).c_str());
    if (a.stats)
      std::fprintf(stderr, "stats: %.2f s, NFE %lld, tokens/s %.1f, context %zu tokens\n", r.stats.seconds,
                   (long long)r.stats.nfe, r.stats.tokens_per_second(), prompt.size() + last.size());
  }
  return 0;
}

cli::Registration reg("chat", "Multi-turn chat on the terminal (LLaDA, or a causal model left to right)", [](CLI::App& app) {
  auto a = std::make_shared<ChatArgs>();
  app.add_option("--model", a->model, "model directory (with tokenizer.json)")->required();
  app.add_option("--gen-length", a->gen_length, "tokens per answer (default 128)");
  app.add_option("--steps", a->steps, "sampling steps (default: --gen-length)");
  app.add_option("--block-length", a->block_length, "semi-autoregressive block (default 32)");
  app.add_option("--temperature", a->o.temperature, "0 = greedy (default)");
  app.add_option("--cfg-scale", a->o.cfg_scale, "classifier-free guidance scale (default 0)");
  app.add_option("--remasking", a->remasking, "low_confidence | random | margin | entropy");
  app.add_option("--seed", a->o.seed, "random seed");
  app.add_flag("--logits-eos-inf", a->o.logits_eos_inf, "never predict EOS");
  app.add_flag("--confidence-eos-eot-inf", a->o.confidence_eos_eot_inf, "EoT/EOS -inf in the confidence");
  app.add_option("--cache", a->cache, "none | prefix | dual");
  app.add_option("--threshold", a->o.threshold, "parallel decoding threshold");
  app.add_option("--factor", a->o.factor, "parallel decoding factor");
  app.add_flag("--early-exit", a->o.early_exit, "stop after a block holding EOS");
  app.add_flag("--show", a->show, "draw the canvas on stderr at every step");
  app.add_flag("--stats", a->stats, "print timing after each answer");
  app.add_option("--threads", a->threads, "OpenMP threads (default: all)");
  return [a, &app]() -> int {
    a->given = cli::given_flags(app);
    return run_chat(*a);
  };
});

}  // namespace
