// llada: the command-line front end. Subcommands live in cmd_*.cpp, one file each.
#include <cstdio>
#include <memory>

#include "command.h"
#include "core/error.h"

namespace llada::cli {

std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}

}  // namespace llada::cli

int main(int argc, char** argv) {
  using namespace llada::cli;
  CLI::App app{"llada: masked diffusion language models (LLaDA) in C++"};
  app.require_subcommand(1);
  std::function<int()> action;
  for (auto& cmd : registry()) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.help);
    auto run = std::make_shared<std::function<int()>>();
    *run = cmd.setup(*sub);
    sub->callback([run, &action] { action = *run; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return action ? action() : 0;
  } catch (const llada::OptionError& e) {
    std::fprintf(stderr, "llada: error: %s\n", e.spelled(llada::flag_spelling).c_str());
    return 1;
  } catch (const llada::Error& e) {
    std::fprintf(stderr, "llada: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "llada: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llada: error: %s\n", e.what());
    return 1;
  }
}
