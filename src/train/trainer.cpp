#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "core/sys.h"
#include "kernels/ops.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/data_source.h"
#include "train/interrupt.h"
#include "train/objective.h"
#include "train/run_dir.h"

namespace llada::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Seeds of the independent streams, derived from the run seed so one number reproduces a run.
constexpr uint64_t kNoiseStream = 0x6e6f697365ull;  // masking noise
constexpr uint64_t kDataStream = 0x64617461ull;     // data order
constexpr uint64_t kEvalSeed = 0x4556414cull;       // held-out noise: fixed for every evaluation

// Bytes a training run of this model needs: f32 weights, gradients and two AdamW moments, and the
// activations the backward keeps (per layer: the residual, norms, q/k/v, attention probabilities,
// the FFN's three hidden arrays; then the logits of every row).
double training_bytes(const ModelConfig& c, const TrainConfig& cfg) {
  const double P = double(c.n_params());
  const double N = double(cfg.batch_size) * double(cfg.seq_len);
  const double C = double(c.d_model), KV = double(c.kv_dim()), F = double(c.mlp_hidden_size);
  const double per_layer = N * (8 * C + 2 * KV + 3 * F) +
                           double(cfg.batch_size) * double(c.n_heads) * double(cfg.seq_len) * double(cfg.seq_len);
  const double scratch = N * (6 * C + 2 * KV + 3 * F);
  const double acts = double(c.n_layers) * per_layer + scratch + N * double(c.embedding_size) + 3 * N * C;
  return 4.0 * (4.0 * P + acts);
}

void check_fits_in_memory(const ModelConfig& c, const TrainConfig& cfg) {
  const double need_mb = training_bytes(c, cfg) / (1024.0 * 1024.0);
  const double avail_mb = available_memory_mb();
  LLADA_CHECK(avail_mb <= 0 || need_mb <= avail_mb,
              "the model does not fit in memory: %.4g parameters need about %.0f MB for training "
              "(f32 weights, gradients and AdamW moments: %.0f MB; activations at batch %lld x %lld: "
              "%.0f MB), and %.0f MB are available",
              double(c.n_params()), need_mb, 16.0 * double(c.n_params()) / (1024.0 * 1024.0),
              (long long)cfg.batch_size, (long long)cfg.seq_len,
              need_mb - 16.0 * double(c.n_params()) / (1024.0 * 1024.0), avail_mb);
}

// A new model from model.config, with the tokenizer filling what the config leaves out.
Model new_model(const TrainConfig& cfg, const Tokenizer* tok) {
  json mj = cfg.model_json;
  LLADA_CHECK(mj.is_object(), "training configuration: model.config must be an object");
  if (tok) {
    const SpecialIds sp = tok->special();
    if (!mj.contains("vocab_size")) mj["vocab_size"] = tok->vocab_size();
    if (!mj.contains("embedding_size")) {
      // Round the embedding rows up to a multiple of 64 (aligned GEMM shapes, as LLaDA pads too).
      mj["embedding_size"] = (mj["vocab_size"].get<int64_t>() + 63) / 64 * 64;
    }
    auto fill = [&](const char* key, int32_t id) {
      if (!mj.contains(key) && id >= 0) mj[key] = id;
    };
    fill("mask_token_id", sp.mask);
    fill("eos_token_id", sp.eos);
    fill("pad_token_id", sp.pad >= 0 ? sp.pad : sp.eos);
    fill("bos_token_id", sp.bos);
    fill("eot_token_id", sp.eot);
  }
  if (cfg.objective == Objective::Ar) mj["causal"] = true;
  if (!mj.contains("model_type")) mj["model_type"] = "llada";
  Model m;
  m.cfg = ModelConfig::from_json(mj, "training configuration model.config");
  check_fits_in_memory(m.cfg, cfg);
  m.w = Weights::allocate(m.cfg, DType::F32);
  init_weights(m.w, m.cfg, cfg.seed, float(cfg.init_std));
  return m;
}

void check_model_fits(const Model& m, const TrainConfig& cfg) {
  LLADA_CHECK(cfg.seq_len <= m.cfg.max_sequence_length,
              "seq_len %lld exceeds the model's max_sequence_length %lld", (long long)cfg.seq_len,
              (long long)m.cfg.max_sequence_length);
  LLADA_CHECK(m.cfg.causal || m.cfg.mask_token_id >= 0,
              "the %s objective needs a mask_token_id in the model config", objective_name(cfg.objective));
  // sft serves both families: masked-response SFT for LLaDA, next-token loss on the response for
  // a causal model (the AR baseline's fine-tuning).
  LLADA_CHECK(cfg.objective == Objective::Sft || (cfg.objective == Objective::Ar) == m.cfg.causal,
              "objective %s does not match the model (causal=%s): the autoregressive baseline needs a "
              "causal model and diffusion a bidirectional one",
              objective_name(cfg.objective), m.cfg.causal ? "true" : "false");
}

// Builds one micro-batch for the objective from the data source.
struct BatchMaker {
  const TrainConfig& cfg;
  const ModelConfig& mcfg;
  std::vector<int32_t> clean;
  std::vector<SftSample> samples;

  void make(DataSource& src, Rng& noise, TrainBatch& tb, float scale, bool eval) {
    const int64_t B = cfg.batch_size, L = cfg.seq_len;
    if (cfg.objective == Objective::Sft) {
      samples.resize(size_t(B));
      src.next_sft(B, samples.data());
      const int64_t T = cfg.sft_pad == "batch" ? src.last_batch_max() : L;
      if (mcfg.causal) {
        make_ar_sft_batch(samples.data(), B, T, int32_t(mcfg.eos_token_id), tb, scale);
        return;
      }
      SftOptions o;
      o.mask_id = int32_t(mcfg.mask_token_id);
      o.eos_id = int32_t(mcfg.eos_token_id);
      o.eps = cfg.eps;
      o.stratified_t = cfg.stratified_t;
      o.prompt_mask_prob = eval ? 0.0 : cfg.prompt_mask_prob;
      make_sft_batch(samples.data(), B, T, o, noise, tb, scale);
      return;
    }
    clean.resize(size_t(B * L));
    src.next_tokens(B, L, clean.data());
    if (cfg.objective == Objective::Ar) {
      make_ar_batch(clean.data(), B, L, tb, scale);
      return;
    }
    DiffusionOptions o;
    o.mask_id = int32_t(mcfg.mask_token_id);
    o.eps = cfg.eps;
    o.random_length_prob = eval ? 0.0 : cfg.random_length_prob;  // eval: always full length
    o.stratified_t = cfg.stratified_t;
    o.weighting = eval ? MaskWeighting::Elbo : mask_weighting_from_name(cfg.mask_weighting);
    make_diffusion_batch(clean.data(), B, L, o, noise, tb, scale);
  }
};

// products: the training precision's (TrainConfig::precision); evaluation passes F32.
ForwardArgs forward_args(const TrainBatch& tb, DType products) {
  ForwardArgs a;
  a.matmul_dtype = products;
  a.B = tb.B;
  a.T = tb.T;
  a.ids = tb.ids.data();
  a.causal = tb.causal;
  a.rows = tb.rows.data();
  a.n_rows = int64_t(tb.rows.size());
  return a;
}

// Held-out loss with fixed noise: a fresh data source and noise RNG from fixed seeds, so every
// evaluation sees the same windows and the same masks.
double evaluate(const Model& m, const TrainConfig& cfg, Workspace& ws) {
  auto src = open_data_source(cfg, cfg.heldout_data, /*heldout=*/true, kEvalSeed);
  Rng noise(kEvalSeed);
  BatchMaker bm{cfg, m.cfg, {}, {}};
  TrainBatch tb;
  double total = 0;
  for (int64_t i = 0; i < cfg.eval_batches; ++i) {
    bm.make(*src, noise, tb, 1.0f, /*eval=*/true);
    if (tb.rows.empty()) continue;
    const float* logits = model_forward(m, forward_args(tb, DType::F32), ws);
    total += kernels::cross_entropy_forward_backward(nullptr, nullptr, logits, tb.targets.data(),
                                                     tb.weights.data(), int64_t(tb.rows.size()),
                                                     m.cfg.embedding_size);
  }
  return total / double(std::max<int64_t>(1, cfg.eval_batches));
}

// Keeps metrics.jsonl consistent with a resumed run: lines of steps after the checkpoint are dropped.
void truncate_metrics(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::istringstream in(read_file(path));
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (json::parse(line).value("step", int64_t(0)) > step) continue;
    } catch (const json::exception&) {
      continue;  // a line cut by the kill
    }
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

std::string human_rate(double x) {
  if (x >= 1e6) return strformat("%.2fM", x / 1e6);
  if (x >= 1e3) return strformat("%.1fk", x / 1e3);
  return strformat("%.0f", x);
}

}  // namespace

TrainResult run_training(const TrainConfig& cfg_in, const RunOptions& ro) {
  TrainConfig cfg = cfg_in;
  cfg.validate();
  cfg.schedule.total_steps = cfg.steps;
  if (cfg.threads > 0) set_num_threads(cfg.threads);
  if (!cfg.progress) Progress::set_enabled(false);
  const json data_fingerprints = check_disjoint_data(cfg.train_data, cfg.heldout_data);
  LLADA_CHECK(!cfg.out.empty(), "training configuration: no run directory (\"out\" or --out)");
  RunDirectory run_dir(cfg.out);
  if (!ro.resume && run_dir.holds_run()) {
    LLADA_CHECK(ro.force,
                "--out %s holds an earlier run (metrics.jsonl, checkpoints or final/): pass --resume to "
                "continue it or --force to replace it",
                cfg.out.c_str());
    run_dir.clear_run();
    std::fprintf(stderr, "--force: removed the earlier run in %s\n", cfg.out.c_str());
  }
  if (const int n = run_dir.remove_partial_checkpoints())
    std::fprintf(stderr, "removed %d half-written checkpoint folder(s) of a killed run in %s\n", n, cfg.out.c_str());

  // Tokenizer: the configured one, else the one beside init_from (copied into every checkpoint).
  std::optional<Tokenizer> tok;
  if (!cfg.tokenizer.empty()) {
    tok = Tokenizer::load(cfg.tokenizer);
  } else if (!cfg.init_from.empty() && file_exists((fs::path(cfg.init_from) / "tokenizer.json").string())) {
    tok = Tokenizer::load(cfg.init_from);
  }

  Model model;
  AdamW opt;
  TrainerState st;
  Rng noise(cfg.seed ^ kNoiseStream);
  std::unique_ptr<DataSource> data = open_data_source(cfg, cfg.train_data, false, cfg.seed ^ kDataStream);
  const std::string metrics_path = (fs::path(cfg.out) / "metrics.jsonl").string();

  if (ro.resume) {
    const std::string ck = latest_checkpoint(cfg.out);
    LLADA_CHECK(!ck.empty(), "--resume: %s has no checkpoint (no 'latest' file)", cfg.out.c_str());
    load_checkpoint(ck, &model, nullptr, &st);
    opt = AdamW(model.w, cfg.adamw);
    load_optimizer((fs::path(ck) / "optimizer.safetensors").string(), &opt);
    // Fields that change the trajectory must match; steps, out, intervals and threads may change.
    for (const char* k : {"objective", "seq_len", "batch_size", "grad_accum", "seed", "diffusion", "sft", "data"})
      LLADA_CHECK(st.config.contains(k) && st.config[k] == cfg.to_json()[k],
                  "--resume: field %s differs from the checkpoint's configuration (%s): %s vs %s", k,
                  ck.c_str(), st.config.contains(k) ? st.config[k].dump().c_str() : "missing",
                  cfg.to_json()[k].dump().c_str());
    if (st.step >= cfg.steps) {
      std::fprintf(stderr, "nothing to do: the run in %s has already done %lld of %lld steps (raise --steps to "
                   "train on)\n", cfg.out.c_str(), (long long)st.step, (long long)cfg.steps);
      TrainResult done;
      done.steps_done = st.step;
      done.nothing_to_do = true;
      const fs::path final_dir = fs::path(cfg.out) / "final";
      if (fs::exists(final_dir)) done.final_dir = final_dir.string();
      return done;
    }
    noise.set_state(st.noise_rng);
    data->set_state(st.data_state);
    truncate_metrics(metrics_path, st.step);
    std::fprintf(stderr, "resuming from %s (step %lld)\n", ck.c_str(), (long long)st.step);
  } else {
    if (!cfg.init_from.empty()) {
      LoadOptions lo;
      lo.force_f32 = true;
      model = Model::load(cfg.init_from, lo);
    } else {
      model = new_model(cfg, tok ? &*tok : nullptr);
    }
    opt = AdamW(model.w, cfg.adamw);
    std::error_code ec;
    fs::remove(metrics_path, ec);
  }
  check_model_fits(model, cfg);
  if (!cfg.init_from.empty() && !ro.resume) check_fits_in_memory(model.cfg, cfg);
  st.config = cfg.to_json();
  st.config["data_fingerprints"] = data_fingerprints;
  write_file_atomic((fs::path(cfg.out) / "config.json").string(), st.config.dump(2) + "\n");
  data->check_vocab(model.cfg.vocab_size);

  Weights grads = Weights::like(model.w, DType::F32);
  Workspace ws;
  BatchMaker bm{cfg, model.cfg, {}, {}};
  TrainBatch tb;
  std::FILE* metrics = std::fopen(metrics_path.c_str(), "a");
  LLADA_CHECK(metrics, "%s: cannot open for appending", metrics_path.c_str());
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> metrics_guard(metrics, std::fclose);

  TrainResult res;
  Progress bar("train", cfg.steps, "step", st.step);
  const bool log_lines = !Progress::enabled();  // no bar (not a terminal, --no-progress): log lines
  InterruptGuard interrupt;
  const double t0 = now_seconds();
  double interval_loss = 0, interval_t = t0;
  int64_t interval_steps = 0, interval_tokens = 0, session_tokens = 0, session_steps = 0;
  const float scale = 1.0f / float(cfg.grad_accum);

  if (ro.eval_at_start && !cfg.heldout_data.empty() && cfg.eval_batches > 0) {
    res.first_eval_loss = evaluate(model, cfg, ws);
    std::fprintf(metrics, "%s\n", json({{"step", st.step}, {"eval_loss", res.first_eval_loss}}).dump().c_str());
  }
  const DType products = cfg.precision == "bf16" ? DType::BF16 : DType::F32;
  for (int64_t step = st.step; step < cfg.steps; ++step) {
    if (ro.stop_after >= 0 && session_steps >= ro.stop_after) {
      res.steps_done = step;
      res.seconds = now_seconds() - t0;
      return res;  // simulated kill: nothing more is written
    }
    const double lr = cfg.schedule.lr(step);
    if (ro.on_lr) ro.on_lr(step, lr);
    zero_grads(grads);
    double loss = 0;
    for (int64_t a = 0; a < cfg.grad_accum; ++a) {
      bm.make(*data, noise, tb, scale, false);
      if (ro.on_batch) ro.on_batch(step, tb);
      interval_tokens += tb.tokens();
      session_tokens += tb.tokens();
      st.tokens_seen += tb.tokens();
      if (tb.rows.empty()) continue;  // nothing masked (tiny p on a short row): no loss, no gradient
      loss += model_forward_backward(model, forward_args(tb, products), tb.targets.data(), tb.weights.data(), grads, ws);
    }
    LLADA_CHECK(std::isfinite(loss), "training diverged: loss is %g at step %lld (lr %g)", loss,
                (long long)step + 1, lr);
    const double gnorm = clip_grad_norm(grads, cfg.grad_clip);
    LLADA_CHECK(std::isfinite(gnorm), "training diverged: gradient norm is %g at step %lld", gnorm,
                (long long)step + 1);
    opt.step(model.w, grads, lr);
    st.step = step + 1;
    ++session_steps;
    interval_loss += loss;
    ++interval_steps;
    if (ro.on_step) ro.on_step(st.step, loss);

    const double now = now_seconds();
    const double tok_s = double(session_tokens) / std::max(1e-9, now - t0);
    bar.update(st.step, strformat("loss %.4f%s  %s tok/s", loss,
                                  res.last_eval_loss >= 0 ? strformat("  held-out %.4f", res.last_eval_loss).c_str() : "",
                                  human_rate(tok_s).c_str()));
    if (st.step % cfg.log_every == 0 || st.step == cfg.steps) {
      res.last_loss = interval_loss / double(interval_steps);
      json line = {{"step", st.step},
                   {"loss", res.last_loss},
                   {"lr", lr},
                   {"grad_norm", gnorm},
                   {"tokens", st.tokens_seen},
                   {"tok_per_s", double(interval_tokens) / std::max(1e-9, now - interval_t)},
                   {"elapsed_s", st.elapsed_s + (now - t0)}};
      std::fprintf(metrics, "%s\n", line.dump().c_str());
      std::fflush(metrics);
      if (log_lines) {
        const double rate = double(session_steps) / std::max(1e-9, now - t0);
        const double eta = rate > 0 ? double(cfg.steps - st.step) / rate : 0;
        std::fprintf(stderr, "step %lld/%lld  loss %.4f%s  %s tok/s  elapsed %.0f s  ETA %.0f s\n",
                     (long long)st.step, (long long)cfg.steps, res.last_loss,
                     res.last_eval_loss >= 0 ? strformat("  held-out %.4f", res.last_eval_loss).c_str() : "",
                     human_rate(tok_s).c_str(), now - t0, eta);
      }
      interval_loss = 0;
      interval_steps = 0;
      interval_tokens = 0;
      interval_t = now;
    }
    const bool last = st.step == cfg.steps;
    if (!cfg.heldout_data.empty() && cfg.eval_batches > 0 &&
        ((cfg.eval_every > 0 && st.step % cfg.eval_every == 0) || last)) {
      res.last_eval_loss = evaluate(model, cfg, ws);
      std::fprintf(metrics, "%s\n", json({{"step", st.step}, {"eval_loss", res.last_eval_loss}}).dump().c_str());
      std::fflush(metrics);
    }
    const bool stop = interrupt.requested() && !last;
    if ((cfg.checkpoint_every > 0 && st.step % cfg.checkpoint_every == 0) || last || stop) {
      st.noise_rng = noise.state();
      st.data_state = data->state();
      const double t_ck = now_seconds();
      st.elapsed_s += t_ck - t0;  // store the total so far; undone below to keep t0-based sums
      save_checkpoint(cfg.out, model, opt, st, tok ? &*tok : nullptr, cfg.keep_checkpoints);
      st.elapsed_s -= t_ck - t0;
    }
    if (stop) {
      bar.finish(strformat("interrupted at step %lld", (long long)st.step));
      std::fprintf(stderr, "stopped by signal %d at step %lld: checkpoint written; continue with --resume\n",
                   interrupt.signal(), (long long)st.step);
      res.interrupted = true;
      res.steps_done = st.step;
      res.seconds = now_seconds() - t0;
      res.tokens_per_s = double(session_tokens) / std::max(1e-9, res.seconds);
      return res;
    }
  }
  bar.finish(strformat("loss %.4f", res.last_loss));
  res.seconds = now_seconds() - t0;
  res.tokens_per_s = double(session_tokens) / std::max(1e-9, res.seconds);
  res.steps_done = st.step;
  // The deliverable: the model in the requested dtype with its tokenizer, loadable everywhere.
  const fs::path final_dir = fs::path(cfg.out) / "final";
  model.save(final_dir.string(), cfg.save_dtype == "f32" ? DType::F32 : DType::BF16);
  if (tok) tok->save(final_dir.string());
  res.final_dir = final_dir.string();
  return res;
}

}  // namespace llada::train
