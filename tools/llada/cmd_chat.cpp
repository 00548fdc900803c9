// `llada chat`: a multi-turn conversation on the terminal. Each turn's prompt is the whole history
// as spec section 1 says (src/sample/session.h: next_chat_prompt); when it no longer fits the
// model's context the oldest turns are dropped (and the user told). Line editing and history come
// from libedit on a terminal; Ctrl-C stops the answer being generated, not the session.
#include <editline/readline.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>

#include "command.h"
#include "generation_flags.h"
#include "core/error.h"
#include "core/signal_receiver.h"
#include "core/sys.h"
#include "sample/decoder.h"
#include "sample/session.h"

namespace {

using namespace llada;
using namespace llada::sample;

struct ChatArgs {
  std::string model, system;
  cli::GenerationFlags gen;
  bool show = false, stats = false;
  int threads = 0;
  std::vector<std::string> given;  // the option fields set on the command line
};

constexpr const char* kHelp =
    "commands: /reset (forget the conversation), /help, /quit (or Ctrl-D).\n"
    "Ctrl-C while an answer is generated stops that answer.\n";

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted = true; }

struct Turn {
  std::string user;
  std::vector<int32_t> answer;  // the generated ids (EOS included; next_chat_prompt drops them)
};

// The prompt of `turns` (the last one's answer not yet generated), with the system message first.
std::vector<int32_t> conversation_prompt(const Session& s, const std::string& system, const std::vector<Turn>& turns) {
  std::vector<ChatMessage> first;
  if (!system.empty()) first.push_back({"system", system});
  first.push_back({"user", turns[0].user});
  std::vector<int32_t> p = encode_chat(s.tokenizer("chat"), first, /*add_generation_prompt=*/true, /*add_bos=*/true);
  for (size_t i = 1; i < turns.size(); ++i) p = next_chat_prompt(s, p, turns[i - 1].answer, turns[i].user);
  return p;
}

// One line from the user: libedit with history on a terminal, else a plain line. False at EOF.
bool read_line(bool tty, std::string& line) {
  if (!tty) {
    std::fputs("> ", stdout);
    std::fflush(stdout);
    return bool(std::getline(std::cin, line));
  }
  char* l = readline("> ");
  if (!l) return false;
  line = l;
  std::free(l);
  if (line.find_first_not_of(" \t") != std::string::npos) add_history(line.c_str());
  return true;
}

int run_chat(ChatArgs a) {
  set_num_threads(a.threads);
  Session s = Session::open(a.model);
  (void)s.tokenizer("chat");
  check_family_options(s, a.given);
  // Defaults that fit the model: without --gen-length, half the context (whole blocks of 32).
  const bool given_length = std::find(a.given.begin(), a.given.end(), "gen_length") != a.given.end();
  if (!given_length && s.sp.max_len > 0 && a.gen.o.gen_length > s.sp.max_len / 2) {
    const int64_t block = a.gen.o.block_length.value_or(*a.gen.default_block_length);
    a.gen.o.gen_length = std::max<int64_t>(block, s.sp.max_len / 2 / block * block);
    if (!a.gen.o.block_length && a.gen.o.gen_length % block) a.gen.o.block_length = a.gen.o.gen_length;
  }
  const GenerateOptions o = a.gen.resolve();
  LLADA_CHECK(s.sp.max_len <= 0 || o.gen_length < s.sp.max_len,
              "--gen-length %lld leaves no room for a prompt in the model's context of %lld tokens",
              (long long)o.gen_length, (long long)s.sp.max_len);
  Decoder dec(s, a.gen.cache_mode());
  const StepObserver canvas = a.show ? terminal_canvas(s) : StepObserver{};
  const StepObserver observe = [&canvas](const StepView& v) {
    if (canvas) canvas(v);
    return !g_interrupted.load();
  };
  const bool tty = isatty(fileno(stdin));
  if (tty) std::printf("llada chat: %s, %lld tokens per answer. /help for commands.\n", a.model.c_str(),
                       (long long)o.gen_length);
  std::vector<Turn> turns;
  std::string line;
  for (;;) {
    if (!read_line(tty, line) || line == "/quit" || line == "/exit") break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line == "/help") {
      std::fputs(kHelp, stdout);
      continue;
    }
    if (line == "/reset") {
      turns.clear();
      std::puts("(conversation forgotten)");
      continue;
    }
    turns.push_back({line, {}});
    std::vector<int32_t> prompt = conversation_prompt(s, a.system, turns);
    size_t dropped = 0;
    while (s.sp.max_len > 0 && int64_t(prompt.size()) + o.gen_length > s.sp.max_len && turns.size() > 1) {
      turns.erase(turns.begin());
      ++dropped;
      prompt = conversation_prompt(s, a.system, turns);
    }
    if (dropped)
      std::printf("(dropped the %zu oldest turn%s to fit the model's context of %lld tokens)\n", dropped,
                  dropped > 1 ? "s" : "", (long long)s.sp.max_len);
    try {
      dec.validate({prompt}, o);
    } catch (const Error& e) {
      std::printf("error: %s\n", e.what());
      turns.pop_back();
      continue;
    }
    g_interrupted = false;
    struct sigaction act {}, old {};
    act.sa_handler = on_sigint;
    sigaction(SIGINT, &act, &old);
    const GenerateResult r = [&] {  // Ctrl-C reaches on_sigint on a thread that does not compute
      SignalReceiver receiver({SIGINT});
      return dec.run({prompt}, o, observe);
    }();
    sigaction(SIGINT, &old, nullptr);
    if (r.stopped) {
      std::puts("(interrupted)");
      turns.pop_back();
      continue;
    }
    turns.back().answer = r.tokens[0];
    std::printf("%s\n", answer_text(s, r.tokens[0]).c_str());
    std::fflush(stdout);
    if (a.stats)
      std::fprintf(stderr, "stats: %.2f s, NFE %lld, tokens/s %.1f, context %zu tokens\n", r.stats.seconds,
                   (long long)r.stats.nfe, r.stats.tokens_per_second(), prompt.size() + r.tokens[0].size());
  }
  return 0;
}

cli::Registration reg("chat", "Multi-turn chat on the terminal (LLaDA, or a causal model left to right)", [](CLI::App& app) {
  auto a = std::make_shared<ChatArgs>();
  app.add_option("--model", a->model, "model directory (with tokenizer.json)")->required();
  app.add_option("--system", a->system, "a system message before the conversation");
  a->gen.default_block_length = 32;
  a->gen.add_to(app, /*batch=*/false);
  app.add_flag("--show", a->show, "draw the canvas on stderr at every step, in place");
  app.add_flag("--stats", a->stats, "print timing after each answer");
  app.add_option("--threads", a->threads, "OpenMP threads (default: all)");
  return [a, &app]() -> int {
    a->given = cli::given_fields(app);
    return run_chat(*a);
  };
});

}  // namespace
