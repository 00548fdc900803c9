// `llada chat`: a multi-turn conversation on stdin/stdout. Each turn's prompt is the whole history
// as spec section 1 says (src/sample/session.h: next_chat_prompt).
#include <climits>
#include <cstdio>
#include <iostream>
#include <memory>

#include "command.h"
#include "generation_flags.h"
#include "core/error.h"
#include "core/sys.h"
#include "sample/decoder.h"
#include "sample/session.h"

namespace {

using namespace llada;
using namespace llada::sample;

struct ChatArgs {
  std::string model;
  cli::GenerationFlags gen;
  bool show = false, stats = false;
  int threads = 0;
  std::vector<std::string> given;  // the option fields set on the command line
};

int run_chat(ChatArgs a) {
  set_num_threads(a.threads);
  const GenerateOptions o = a.gen.resolve();
  Session s = Session::open(a.model);
  (void)s.tokenizer("chat");
  check_family_options(s, a.given);
  Decoder dec(s, a.gen.cache_mode());
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
  a->gen.default_block_length = 32;
  a->gen.add_to(app, /*batch=*/false);
  app.add_flag("--show", a->show, "draw the canvas on stderr at every step");
  app.add_flag("--stats", a->stats, "print timing after each answer");
  app.add_option("--threads", a->threads, "OpenMP threads (default: all)");
  return [a, &app]() -> int {
    a->given = cli::given_fields(app);
    return run_chat(*a);
  };
});

}  // namespace
