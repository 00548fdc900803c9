// llada train: masked-diffusion pre-training, SFT or the autoregressive baseline from a JSON
// configuration (src/train/train_config.h documents every field); flags override fields.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>

#include "command.h"
#include "core/error.h"
#include "core/sys.h"
#include "train/trainer.h"
#ifdef LLADA_HAVE_MPI
#include "dist/mpi_world.h"
#endif

namespace {

struct TrainFlags {
  std::string config, out, init_from, objective, schedule, precision;
  // Values of flags; a flag not given leaves the configuration's field alone (CLI::App::count), so
  // no value stands for "not given" and every given value is checked.
  int64_t steps = 0, batch_size = 0, seq_len = 0, grad_accum = 0, checkpoint_every = 0, eval_every = 0;
  double lr = 0;
  long long seed = 0;
  int threads = 0;
  bool resume = false, force = false, no_progress = false;
};

llada::cli::Registration reg(
    "train", "train a model: diffusion pre-training, SFT or the AR baseline (--config FILE)",
    [](CLI::App& app) {
      auto f = std::make_shared<TrainFlags>();
      app.add_option("--config", f->config, "training configuration (JSON)")->required();
      app.add_option("--out", f->out, "run directory (overrides 'out')");
      app.add_option("--init-from", f->init_from, "start from this model directory (overrides model)");
      app.add_option("--objective", f->objective, "diffusion | sft | ar");
      app.add_option("--steps", f->steps, "optimizer steps in total (>= 1)");
      app.add_option("--lr", f->lr, "peak learning rate (> 0)");
      app.add_option("--schedule", f->schedule, "constant | cosine | wsd");
      app.add_option("--batch-size", f->batch_size, "sequences per micro-batch (>= 1)");
      app.add_option("--seq-len", f->seq_len, "tokens per sequence (>= 1)");
      app.add_option("--grad-accum", f->grad_accum, "micro-batches per optimizer step (>= 1)");
      app.add_option("--precision", f->precision, "f32 | bf16 (bf16 matrix products, f32 master weights)");
      app.add_option("--seed", f->seed, "run seed (init, data order, masks; >= 0)");
      app.add_option("--threads", f->threads, "OpenMP threads (0: default)");
      app.add_option("--checkpoint-every", f->checkpoint_every, "steps between checkpoints (0: only at the end)");
      app.add_option("--eval-every", f->eval_every, "steps between held-out evaluations (0: only at the end)");
      app.add_flag("--resume", f->resume, "continue the run in --out from its latest checkpoint");
      app.add_flag("--force", f->force, "replace an earlier run in --out (its metrics, checkpoints and final/)");
      app.add_flag("--no-progress", f->no_progress, "no progress bar (log lines instead)");
      return [f, &app]() -> int {
        using namespace llada;
        using namespace llada::train;
        auto given = [&](const char* flag) { return app.count(flag) > 0; };
        auto at_least = [&](const char* flag, long long v, long long lo) {
          LLADA_CHECK(v >= lo, "%s must be >= %lld, got %lld", flag, lo, v);
        };
        LLADA_CHECK(!(f->resume && f->force), "--resume and --force exclude each other");
        TrainConfig c = TrainConfig::load(f->config);
        if (given("--out")) c.out = f->out;
        if (given("--init-from")) {
          c.init_from = f->init_from;
          c.model_json = nullptr;
        }
        if (given("--objective")) c.objective = objective_from_name(f->objective);
        if (given("--schedule")) c.schedule.kind = f->schedule;
        if (given("--precision")) {
          LLADA_CHECK(f->precision == "f32" || f->precision == "bf16",
                      "--precision must be f32 or bf16, got '%s'", f->precision.c_str());
          c.precision = f->precision;
        }
        if (given("--steps")) at_least("--steps", f->steps, 1), c.steps = f->steps;
        if (given("--lr")) {
          LLADA_CHECK(std::isfinite(f->lr) && f->lr > 0, "--lr must be a positive number, got %g", f->lr);
          c.schedule.peak_lr = f->lr;
        }
        if (given("--batch-size")) at_least("--batch-size", f->batch_size, 1), c.batch_size = f->batch_size;
        if (given("--seq-len")) at_least("--seq-len", f->seq_len, 1), c.seq_len = f->seq_len;
        if (given("--grad-accum")) at_least("--grad-accum", f->grad_accum, 1), c.grad_accum = f->grad_accum;
        if (given("--seed")) at_least("--seed", f->seed, 0), c.seed = uint64_t(f->seed);
        if (given("--threads")) at_least("--threads", f->threads, 0), c.threads = f->threads;
        if (given("--checkpoint-every"))
          at_least("--checkpoint-every", f->checkpoint_every, 0), c.checkpoint_every = f->checkpoint_every;
        if (given("--eval-every")) at_least("--eval-every", f->eval_every, 0), c.eval_every = f->eval_every;
        if (f->no_progress) c.progress = false;
        RunOptions ro;
        ro.resume = f->resume;
        ro.force = f->force;
#ifdef LLADA_HAVE_MPI
        // Under mpirun: one rank of a data-parallel run. Unless --threads / "threads" says
        // otherwise, a rank uses the cores the launcher bound it to, or its share of the machine's.
        const auto world = dist::MpiWorld::from_launcher();
        if (world) {
          ro.collective = world.get();
          const int cores = int(std::thread::hardware_concurrency()), mine = num_threads();
          if (c.threads <= 0) c.threads = mine < cores ? mine : std::max(1, cores / world->local_size());
        }
        TrainResult r;
        try {
          r = run_training(c, ro);
        } catch (const std::exception& e) {
          if (!world || world->size() == 1) throw;
          // Every rank waits for the others at each step: end the whole job, not this rank alone.
          std::fprintf(stderr, "error (rank %d of %d): %s\n", world->rank(), world->size(), e.what());
          world->abort(1);
        }
        if (world && world->rank() != 0) return r.interrupted ? 130 : 0;  // rank 0 reports
#else
        LLADA_CHECK(!launched_by_mpi(),
                    "this llada was built without MPI, so every process started by mpirun would train alone: "
                    "install libopenmpi-dev and rebuild (scripts/install_deps.sh) for data-parallel training");
        TrainResult r = run_training(c, ro);
#endif
        if (r.nothing_to_do) return 0;
        if (r.interrupted) {
          std::printf("interrupted after %lld steps: checkpoint in %s (continue with --resume)\n",
                      (long long)r.steps_done, c.out.c_str());
          return 130;
        }
        std::printf("trained %lld steps: loss %.4f", (long long)r.steps_done, r.last_loss);
        if (r.last_eval_loss >= 0) std::printf(", held-out loss %.4f", r.last_eval_loss);
        std::printf(", %.0f tokens/s, %.1f s\nmodel: %s\n", r.tokens_per_s, r.seconds, r.final_dir.c_str());
        return 0;
      };
    });

}  // namespace
