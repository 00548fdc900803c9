// `llada init`: a new model directory with random weights from a config.json-style file.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "model/config.h"
#include "model/weights.h"

namespace {

struct InitArgs {
  std::string config, out, dtype = "f32";
  uint64_t seed = 0;
  float init_std = 0.02f;
  bool force = false;
  int64_t shard_mb = 5120;
};

int run_init(const InitArgs& a) {
  using namespace llada;
  DType dtype;
  if (a.dtype == "f32")
    dtype = DType::F32;
  else if (a.dtype == "bf16")
    dtype = DType::BF16;
  else
    fail(strformat("--dtype: '%s' is not f32 or bf16", a.dtype.c_str()));
  LLADA_CHECK(a.init_std > 0 && a.init_std < 10, "--init-std: %g is not in (0, 10)", a.init_std);
  ModelConfig cfg = ModelConfig::load(a.config);
  // Never overwrite a model someone may have trained for days by accident.
  LLADA_CHECK(a.force || !std::filesystem::exists(std::filesystem::path(a.out) / "config.json"),
              "%s: already holds a model (config.json); pass --force to overwrite it",
              a.out.c_str());
  // Initialise in the storage dtype directly: no f32 copy of a big model is ever made.
  Weights w = Weights::allocate(cfg, dtype);
  init_weights(w, cfg, a.seed, a.init_std);
  LLADA_CHECK(a.shard_mb > 0, "--shard-mb: %lld, expected > 0", (long long)a.shard_mb);
  save_model_dir(a.out, cfg, w, dtype, size_t(a.shard_mb) << 20);
  const int64_t n = cfg.n_params();
  std::printf("wrote %s: %lld parameters (%.2f M), %s, seed %llu\n", a.out.c_str(), (long long)n,
              double(n) / 1e6, dtype_name(dtype), (unsigned long long)a.seed);
  return 0;
}

llada::cli::Registration reg(
    "init", "Write a new model directory with random weights", [](CLI::App& app) {
      auto a = std::make_shared<InitArgs>();
      app.add_option("--config", a->config, "config.json-style file describing the model")
          ->required();
      app.add_option("--out", a->out, "output model directory")->required();
      app.add_option("--seed", a->seed, "random seed (default 0)");
      app.add_option("--dtype", a->dtype,
                     "storage dtype of the matrices: f32 or bf16 (default f32)");
      app.add_option("--init-std", a->init_std,
                     "standard deviation of the matrices (default 0.02)");
      app.add_flag("--force", a->force, "overwrite an existing model in --out");
      app.add_option("--shard-mb", a->shard_mb,
                     "split the weights into safetensors shards of at most this many MB, with an index "
                     "(default 5120)");
      return [a]() -> int { return run_init(*a); };
    });

}  // namespace
