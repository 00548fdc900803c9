#include "sample/decoder.h"

#include <algorithm>

#include "core/error.h"

namespace llada::sample {

std::vector<std::string> diffusion_only_fields() {
  std::vector<std::string> fields;
  for (const OptionField& f : generate_option_fields())
    if (f.family == OptionField::Family::Diffusion) fields.push_back(f.name);
  fields.push_back("cache");
  fields.push_back("show");
  return fields;
}

void check_family_options(const Session& s, const std::vector<std::string>& given) {
  if (!s.model.cfg.causal) {
    for (const OptionField& f : generate_option_fields())
      if (f.family == OptionField::Family::Autoregressive &&
          std::find(given.begin(), given.end(), f.name) != given.end())
        throw OptionError(f.name, strformat("{%s} configures left-to-right decoding, but %s is a diffusion model: "
                                            "drop {%s}", f.name, s.dir.c_str(), f.name));
    return;
  }
  const auto d = diffusion_only_fields();
  for (const std::string& f : given)
    if (std::find(d.begin(), d.end(), f) != d.end())
      throw OptionError(f, strformat("{%s} configures the diffusion sampler, but %s is an autoregressive (causal) "
                                     "model, decoded left to right one token per call: drop {%s}",
                                     f.c_str(), s.dir.c_str(), f.c_str()));
}

void Decoder::validate(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o) const {
  if (autoregressive()) return validate_autoregressive(prompts, s_.sp, o);
  sample::validate(prompts, s_.sp, o);
}

GenerateResult Decoder::run(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o,
                            const StepObserver& show) {
  if (autoregressive()) return generate_autoregressive(s_.model, prompts, s_.sp, o, show);
  return generate(src_, prompts, s_.sp, o, show);
}

}  // namespace llada::sample
