// Subcommand registry: each tools/llada/cmd_*.cpp registers one subcommand with a static
// Registration object, so adding a command never touches main.cpp.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace llada::cli {

struct Command {
  std::string name, help;
  // Adds options to `app`; returns the action to run after parsing (throws llada::Error on bad input).
  std::function<std::function<int()>(CLI::App& app)> setup;
};

std::vector<Command>& registry();

struct Registration {
  Registration(std::string name, std::string help,
               std::function<std::function<int()>(CLI::App&)> setup) {
    registry().push_back({std::move(name), std::move(help), std::move(setup)});
  }
};

// The names of the options set on the command line (e.g. "--steps"), for checks that depend on
// whether a flag was given rather than on its value.
std::vector<std::string> given_flags(const CLI::App& app);
// The same as option field names (--gen-length -> gen_length), for the library's checks.
std::vector<std::string> given_fields(const CLI::App& app);

// Parse "1,2,3" into ints; names `flag` in the error.
std::vector<int32_t> parse_int_list(const std::string& s, const std::string& flag);

}  // namespace llada::cli
