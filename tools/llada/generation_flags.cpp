#include "generation_flags.h"

#include <type_traits>
#include <variant>

#include "core/error.h"

namespace llada::cli {

void GenerationFlags::add_to(CLI::App& app, bool batch) {
  for (const sample::OptionField& f : sample::generate_option_fields()) {
    const std::string flag = flag_spelling(f.name);
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(o.*member)>;
          if constexpr (std::is_same_v<T, bool>) {
            app.add_flag(flag, o.*member, f.help);
          } else if constexpr (std::is_same_v<T, sample::Remasking>) {
            app.add_option_function<std::string>(
                flag,
                [this, member, flag](const std::string& v) {
                  try {
                    o.*member = sample::parse_remasking(v);
                  } catch (const OptionError& e) {
                    throw CLI::ValidationError(e.spelled(flag_spelling));
                  }
                },
                f.help);
          } else if (f.name == std::string("block_length") && default_block_length) {
            app.add_option(flag, o.*member,
                           strformat("semi-autoregressive block (default %lld, or gen_length when not a multiple)",
                                     (long long)*default_block_length));
          } else {
            app.add_option(flag, o.*member, f.help);
          }
        },
        f.member);
  }
  app.add_option("--cache", cache, "KV cache: none (default) | prefix | dual");
  if (batch) app.add_option("--batch-size", batch_size, "prompts per batch (left padding; default 1)");
}

sample::GenerateOptions GenerationFlags::resolve() const {
  LLADA_CHECK(batch_size > 0, "--batch-size must be positive, got %lld", (long long)batch_size);
  sample::GenerateOptions r = o;
  if (!r.block_length && default_block_length && r.gen_length > 0 && r.gen_length % *default_block_length == 0)
    r.block_length = *default_block_length;
  sample::validate_options(r);
  r.steps = r.total_steps();  // explicit from here on, as reports print them
  r.block_length = r.block();
  LLADA_CHECK(!(r.infill && cache_mode() != sample::CacheMode::None), "--infill needs --cache none");
  return r;
}

sample::CacheMode GenerationFlags::cache_mode() const { return sample::parse_cache_mode(cache); }

nlohmann::json options_json(const sample::GenerateOptions& o) {
  nlohmann::json j = nlohmann::json::object();
  for (const sample::OptionField& f : sample::generate_option_fields())
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(o.*member)>;
          if constexpr (std::is_same_v<T, sample::Remasking>) j[f.name] = sample::remasking_name(o.*member);
          else if constexpr (std::is_same_v<T, std::optional<int64_t>>)
            j[f.name] = (o.*member) ? nlohmann::json(*(o.*member)) : nlohmann::json(nullptr);
          else j[f.name] = o.*member;
        },
        f.member);
  return j;
}

}  // namespace llada::cli
