// llada train: masked-diffusion pre-training, SFT or the autoregressive baseline from a JSON
// configuration (src/train/train_config.h documents every field); flags override fields.
#include <cstdio>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "train/trainer.h"

namespace {

struct TrainFlags {
  std::string config, out, init_from, objective, schedule;
  int64_t steps = -1, batch_size = -1, seq_len = -1, grad_accum = -1, checkpoint_every = -1,
          eval_every = -1;
  double lr = -1;
  long long seed = -1;
  int threads = -1;
  bool resume = false, no_progress = false;
};

llada::cli::Registration reg(
    "train", "train a model: diffusion pre-training, SFT or the AR baseline (--config FILE)",
    [](CLI::App& app) {
      auto f = std::make_shared<TrainFlags>();
      app.add_option("--config", f->config, "training configuration (JSON)")->required();
      app.add_option("--out", f->out, "run directory (overrides 'out')");
      app.add_option("--init-from", f->init_from, "start from this model directory (overrides model)");
      app.add_option("--objective", f->objective, "diffusion | sft | ar");
      app.add_option("--steps", f->steps, "optimizer steps in total");
      app.add_option("--lr", f->lr, "peak learning rate");
      app.add_option("--schedule", f->schedule, "constant | cosine | wsd");
      app.add_option("--batch-size", f->batch_size, "sequences per micro-batch");
      app.add_option("--seq-len", f->seq_len, "tokens per sequence");
      app.add_option("--grad-accum", f->grad_accum, "micro-batches per optimizer step");
      app.add_option("--seed", f->seed, "run seed (init, data order, masks)");
      app.add_option("--threads", f->threads, "OpenMP threads (0: default)");
      app.add_option("--checkpoint-every", f->checkpoint_every, "steps between checkpoints (0: only at the end)");
      app.add_option("--eval-every", f->eval_every, "steps between held-out evaluations (0: only at the end)");
      app.add_flag("--resume", f->resume, "continue the run in --out from its latest checkpoint");
      app.add_flag("--no-progress", f->no_progress, "no progress bar");
      return [f]() -> int {
        using namespace llada::train;
        TrainConfig c = TrainConfig::load(f->config);
        if (!f->out.empty()) c.out = f->out;
        if (!f->init_from.empty()) {
          c.init_from = f->init_from;
          c.model_json = nullptr;
        }
        if (!f->objective.empty()) c.objective = objective_from_name(f->objective);
        if (!f->schedule.empty()) c.schedule.kind = f->schedule;
        if (f->steps >= 0) c.steps = f->steps;
        if (f->lr >= 0) c.schedule.peak_lr = f->lr;
        if (f->batch_size >= 0) c.batch_size = f->batch_size;
        if (f->seq_len >= 0) c.seq_len = f->seq_len;
        if (f->grad_accum >= 0) c.grad_accum = f->grad_accum;
        if (f->seed >= 0) c.seed = uint64_t(f->seed);
        if (f->threads >= 0) c.threads = f->threads;
        if (f->checkpoint_every >= 0) c.checkpoint_every = f->checkpoint_every;
        if (f->eval_every >= 0) c.eval_every = f->eval_every;
        if (f->no_progress) c.progress = false;
        RunOptions ro;
        ro.resume = f->resume;
        TrainResult r = run_training(c, ro);
        std::printf("trained %lld steps: loss %.4f", (long long)r.steps_done, r.last_loss);
        if (r.last_eval_loss >= 0) std::printf(", held-out loss %.4f", r.last_eval_loss);
        std::printf(", %.0f tokens/s, %.1f s\nmodel: %s\n", r.tokens_per_s, r.seconds, r.final_dir.c_str());
        return 0;
      };
    });

}  // namespace
