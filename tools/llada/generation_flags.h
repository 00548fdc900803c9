// The generation flags of every command that decodes (generate, chat, eval): registered from the
// library's option table (sample/options.h), so the commands cannot drift apart, and resolved
// into GenerateOptions.
#pragma once
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "sample/model_source.h"
#include "sample/options.h"

namespace llada::cli {

struct GenerationFlags {
  sample::GenerateOptions o;
  std::string cache = "none";
  int64_t batch_size = 1;
  // A command's own default block length (chat: 32, the instruct model's), used when the user
  // gives no --block-length and --gen-length is a multiple of it; otherwise one block.
  std::optional<int64_t> default_block_length;

  // Registers one flag per row of sample::generate_option_fields() (--gen-length, --steps, ...),
  // --cache and, with `batch`, --batch-size.
  void add_to(CLI::App& app, bool batch = true);
  // The options they describe; throws naming the flag at fault.
  sample::GenerateOptions resolve() const;
  sample::CacheMode cache_mode() const;
};

// Every option of the table under its field name (a report's record of how it decoded).
nlohmann::json options_json(const sample::GenerateOptions& o);

}  // namespace llada::cli
