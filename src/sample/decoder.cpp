#include "sample/decoder.h"

#include <algorithm>

#include "core/error.h"

namespace llada::sample {

const std::vector<std::string>& diffusion_only_flags() {
  static const std::vector<std::string> flags = {
      "--steps",     "--block-length", "--remasking",   "--cfg-scale",          "--cache",
      "--threshold", "--factor",       "--infill",      "--uneven-steps",       "--early-exit",
      "--show",      "--never-predict-mask", "--confidence-eos-eot-inf"};
  return flags;
}

void check_family_flags(const Session& s, const std::vector<std::string>& given) {
  if (!s.model.cfg.causal) return;
  const auto& d = diffusion_only_flags();
  for (const std::string& f : given)
    LLADA_CHECK(std::find(d.begin(), d.end(), f) == d.end(),
                "%s configures the diffusion sampler, but %s is an autoregressive (causal) model, "
                "decoded left to right one token per call: drop %s",
                f.c_str(), s.dir.c_str(), f.c_str());
}

void Decoder::validate(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o) const {
  if (autoregressive()) return validate_autoregressive(prompts, s_.sp, o);
  sample::validate(prompts, s_.sp, o);
}

GenerateResult Decoder::run(const std::vector<std::vector<int32_t>>& prompts, const GenerateOptions& o,
                            const StepObserver& show) {
  if (autoregressive()) return generate_autoregressive(s_.model, prompts, s_.sp, o);
  return generate(src_, prompts, s_.sp, o, show);
}

}  // namespace llada::sample
