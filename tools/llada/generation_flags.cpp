#include "generation_flags.h"

#include "core/error.h"

namespace llada::cli {

void GenerationFlags::add_to(CLI::App& app) {
  app.add_option("--gen-length", gen_length, "tokens to generate (default 128)");
  app.add_option("--steps", steps, "sampling steps over all blocks (default: --gen-length)");
  app.add_option("--block-length", block_length, "semi-autoregressive block (default: --gen-length)");
  app.add_option("--temperature", o.temperature, "0 = greedy (default); > 0 = Gumbel-max sampling");
  app.add_option("--cfg-scale", o.cfg_scale, "classifier-free guidance scale (default 0 = off)");
  app.add_option("--remasking", remasking, "low_confidence (default) | random | margin | entropy");
  app.add_option("--seed", o.seed, "random seed (default 0)");
  app.add_flag("--logits-eos-inf", o.logits_eos_inf, "never predict EOS");
  app.add_flag("--confidence-eos-eot-inf", o.confidence_eos_eot_inf,
               "EoT (and at temperature 0 EOS) -inf in the confidence, as the reference does");
  app.add_flag("--infill", o.infill, "allow mask ids inside the prompt; they are filled too");
  app.add_flag("--uneven-steps", o.uneven_steps,
               "allow --steps not divisible by the number of blocks (earlier blocks get one more)");
  app.add_option("--cache", cache, "KV cache: none (default) | prefix | dual");
  app.add_option("--threshold", o.threshold, "parallel decoding: commit every position with "
                                             "confidence >= T (and the best); --steps is unused");
  app.add_option("--factor", o.factor, "parallel decoding by the factor rule; --steps is unused");
  app.add_flag("--early-exit", o.early_exit, "after a block holding EOS, fill the rest with EOS");
  app.add_flag("--never-predict-mask", o.never_predict_mask,
               "never commit the mask id (the reference sampler may; parallel decoding and caches never do)");
  app.add_option("--batch-size", batch_size, "prompts per batch (left padding; default 1)");
}

sample::GenerateOptions GenerationFlags::resolve() const {
  LLADA_CHECK(gen_length > 0, "--gen-length must be positive, got %lld", (long long)gen_length);
  LLADA_CHECK(batch_size > 0, "--batch-size must be positive, got %lld", (long long)batch_size);
  sample::GenerateOptions r = o;
  r.gen_length = gen_length;
  r.steps = steps == kUnset ? gen_length : steps;
  r.block_length = block_length == kUnset ? gen_length : block_length;
  r.remasking = sample::parse_remasking(remasking);
  LLADA_CHECK(!(r.infill && cache_mode() != sample::CacheMode::None), "--infill needs --cache none");
  return r;
}

sample::CacheMode GenerationFlags::cache_mode() const { return sample::parse_cache_mode(cache); }

}  // namespace llada::cli
