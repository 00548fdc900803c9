#include "sample/options.h"

#include <string>

#include "core/error.h"
#include "sample/rules.h"

namespace llada::sample {

void validate_options(const GenerateOptions& o) {
  LLADA_CHECK_OPTION(o.gen_length > 0, "gen_length", "{gen_length} must be positive, got %lld",
                     (long long)o.gen_length);
  const int64_t block = o.block();
  LLADA_CHECK_OPTION(block > 0, "block_length", "{block_length} must be positive, got %lld", (long long)block);
  LLADA_CHECK_OPTION(o.gen_length % block == 0, "block_length",
                     "{gen_length} %lld is not a multiple of {block_length} %lld", (long long)o.gen_length,
                     (long long)block);
  const int64_t nb = o.gen_length / block;
  if (!o.parallel()) {
    const int64_t steps = o.total_steps();
    LLADA_CHECK_OPTION(steps > 0, "steps", "{steps} must be positive, got %lld", (long long)steps);
    LLADA_CHECK_OPTION(steps >= nb, "steps", "{steps} %lld is fewer than the %lld blocks ({gen_length} / {block_length})",
                       (long long)steps, (long long)nb);
    LLADA_CHECK_OPTION(o.uneven_steps || steps % nb == 0, "steps",
                       "{steps} %lld is not a multiple of the number of blocks %lld ({gen_length} %lld / "
                       "{block_length} %lld); the reference requires it ({uneven_steps} spreads the remainder)",
                       (long long)steps, (long long)nb, (long long)o.gen_length, (long long)block);
  }
  LLADA_CHECK_OPTION(o.temperature >= 0, "temperature", "{temperature} must be >= 0, got %g", o.temperature);
  LLADA_CHECK_OPTION(o.cfg_scale >= 0, "cfg_scale", "{cfg_scale} must be >= 0, got %g", o.cfg_scale);
  LLADA_CHECK_OPTION(o.threshold >= 0, "threshold", "{threshold} must be >= 0, got %g", o.threshold);
  LLADA_CHECK_OPTION(o.factor >= 0, "factor", "{factor} must be >= 0, got %g", o.factor);
  LLADA_CHECK_OPTION(!(o.threshold > 0 && o.factor > 0), "factor", "{threshold} and {factor} are exclusive");
}

namespace {

using G = GenerateOptions;

// The remasking flag's help from the rules table (sample/rules.h, constant-initialised, so it is
// readable here): "low_confidence (default) | random | margin | entropy".
const std::string kRemaskingHelp = [] {
  std::string h;
  for (const RemaskingRule& r : remasking_rules())
    h += (h.empty() ? "" : " | ") + std::string(r.name) + (r.id == GenerateOptions{}.remasking ? " (default)" : "");
  return h;
}();

const OptionField kFields[] = {
    {"gen_length", "tokens to generate (default 128)", &G::gen_length},
    {"steps", "sampling steps over all blocks (default: gen_length, one token per step)", &G::steps, OptionField::Family::Diffusion},
    {"block_length", "semi-autoregressive block (default: gen_length, one block)", &G::block_length, OptionField::Family::Diffusion},
    {"temperature", "0 = greedy (default); > 0 = Gumbel-max sampling from softmax(l/T)", &G::temperature},
    {"cfg_scale", "classifier-free guidance scale (default 0 = off)", &G::cfg_scale, OptionField::Family::Diffusion},
    {"remasking", kRemaskingHelp.c_str(), &G::remasking, OptionField::Family::Diffusion},
    {"seed", "random seed (default 0)", &G::seed},
    {"logits_eos_inf", "never predict EOS", &G::logits_eos_inf},
    {"confidence_eos_eot_inf", "EoT (and at temperature 0 EOS) -inf in the confidence, as the reference does",
     &G::confidence_eos_eot_inf, OptionField::Family::Diffusion},
    {"infill", "allow mask ids inside the prompt; they are filled too", &G::infill, OptionField::Family::Diffusion},
    {"uneven_steps", "allow steps not divisible by the number of blocks (earlier blocks get one more)",
     &G::uneven_steps, OptionField::Family::Diffusion},
    {"threshold", "parallel decoding: commit every position with confidence >= T (and the best); steps unused",
     &G::threshold, OptionField::Family::Diffusion},
    {"factor", "parallel decoding by the factor rule; steps unused", &G::factor, OptionField::Family::Diffusion},
    {"early_exit", "after a block holding EOS, fill the rest with EOS", &G::early_exit, OptionField::Family::Diffusion},
    {"never_predict_mask", "never commit the mask id (the reference sampler may; parallel decoding and caches never do)",
     &G::never_predict_mask, OptionField::Family::Diffusion},
    {"ar_recompute", "causal models: run the whole prefix every step instead of the KV cache (a check, slow)",
     &G::ar_recompute, OptionField::Family::Autoregressive},
};

}  // namespace

std::span<const OptionField> generate_option_fields() { return kFields; }

}  // namespace llada::sample
