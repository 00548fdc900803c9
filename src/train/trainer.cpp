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
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "train/checkpoint.h"
#include "train/data_source.h"
#include "train/grad_sum.h"
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
constexpr uint64_t kSftMixStream = 0x7366746dull;   // order of the SFT samples mixed into pre-training

// Bytes a training run of this model needs: f32 weights, gradients and two AdamW moments, and the
// activations the backward keeps (per layer: the residual, norms, q/k/v, attention probabilities,
// the FFN's three hidden arrays; then the logits of every row); in bf16, also the rounded copies of
// the weights, of each layer's four product inputs and of one output gradient.
double training_bytes(const ModelConfig& c, const TrainConfig& cfg) {
  const double P = double(c.n_params());
  const double batch = double(std::max(cfg.batch_size, cfg.sft_mix_batch));  // the larger micro-batch
  const double N = batch * double(cfg.seq_len);
  const double C = double(c.d_model), KV = double(c.kv_dim()), F = double(c.mlp_hidden_size);
  const double per_layer = N * (8 * C + 2 * KV + 3 * F) +
                           batch * double(c.n_heads) * double(cfg.seq_len) * double(cfg.seq_len);
  const double scratch = N * (6 * C + 2 * KV + 3 * F);
  const double acts = double(c.n_layers) * per_layer + scratch + N * double(c.embedding_size) + 3 * N * C;
  const double bf16_copies =
      cfg.precision == "bf16"
          ? P + double(c.n_layers) * N * (3 * C + F) + N * std::max({double(c.embedding_size), F, C})
          : 0.0;
  return 4.0 * (4.0 * P + acts) + 2.0 * bf16_copies;
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
      make_sft(src, noise, tb, scale, eval, B, cfg.sft_pad == "batch");
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

  // B SFT samples: padded to the batch's longest sample or to seq_len; LLaDA's response-masking
  // rule, or a causal model's next-token loss on the response.
  void make_sft(DataSource& src, Rng& noise, TrainBatch& tb, float scale, bool eval, int64_t B, bool pad_to_batch) {
    samples.resize(size_t(B));
    src.next_sft(B, samples.data());
    const int64_t T = pad_to_batch ? src.last_batch_max() : cfg.seq_len;
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

// Every file a run trains on (the fingerprints and the overlap check cover the sft_mix samples too).
std::vector<std::string> training_paths(const TrainConfig& cfg) {
  std::vector<std::string> paths = cfg.train_data;
  paths.insert(paths.end(), cfg.sft_mix_data.begin(), cfg.sft_mix_data.end());
  return paths;
}

std::string human_rate(double x) {
  if (x >= 1e6) return strformat("%.2fM", x / 1e6);
  if (x >= 1e3) return strformat("%.1fk", x / 1e3);
  return strformat("%.0f", x);
}

// One training run from set-up to the final model, in named steps; run_training() strings them.
class Session {
 public:
  // Checks the configuration and the data before the run directory is created or locked, so a
  // refused run leaves nothing behind.
  Session(const TrainConfig& cfg, const RunOptions& ro)
      : cfg_(validated(cfg)),
        ro_(ro),
        data_fingerprints_(check_disjoint_data(training_paths(cfg_), cfg_.heldout_data)) {
    if (ro_.collective) check_world(cfg_, *ro_.collective);
    // Only the writing rank owns (creates, locks, cleans) the directory; the others share it.
    if (writer()) {
      run_dir_.emplace(cfg_.out);
      prepare_run_dir();
    }
  }

  // Loads the tokenizer and the model (fresh, init_from or the latest checkpoint). False: a
  // resumed run that has nothing left to do (res_ says so).
  bool start();
  void train();
  TrainResult result() && { return std::move(res_); }

 private:
  static TrainConfig validated(TrainConfig cfg);
  static void check_world(const TrainConfig& cfg, const Collective& c);
  void prepare_run_dir();
  void load_tokenizer();
  bool resume();
  void start_fresh();
  double step_gradients(int64_t step, double lr);
  void log_step(double loss, double lr, double gnorm);
  void maybe_evaluate(bool last);
  void checkpoint();
  void finish_interrupted();
  void save_final();
  bool writer() const { return rank() == 0; }
  int rank() const { return ro_.collective ? ro_.collective->rank() : 0; }
  int world() const { return ro_.collective ? ro_.collective->size() : 1; }

  TrainConfig cfg_;
  const RunOptions& ro_;
  json data_fingerprints_;
  std::optional<RunDirectory> run_dir_;
  std::optional<Tokenizer> tok_;
  Model model_;
  AdamW opt_;
  TrainerState st_;
  Rng noise_{0};
  std::unique_ptr<DataSource> data_;
  std::unique_ptr<DataSource> sft_mix_;  // the SFT samples mixed into pre-training (sft_mix), or null
  std::string metrics_path_;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> metrics_{nullptr, std::fclose};
  std::optional<MicroBatchSum> micro_sum_;
  Weights* grads_ = nullptr;  // this step's summed gradients (inside micro_sum_)
  Workspace ws_;
  TrainBatch tb_;
  TrainResult res_;
  // This session's counters (a resumed run's rates count only its own steps).
  double t0_ = 0, interval_loss_ = 0, interval_t_ = 0, interval_comm0_ = 0, interval_wait0_ = 0;
  int64_t interval_steps_ = 0, interval_tokens_ = 0, session_tokens_ = 0, session_steps_ = 0;
};

void Session::check_world(const TrainConfig& cfg, const Collective& c) {
  LLADA_CHECK(c.size() >= 1 && c.rank() >= 0 && c.rank() < c.size(), "data parallelism: rank %d of %d",
              c.rank(), c.size());
  LLADA_CHECK(cfg.grad_accum % c.size() == 0,
              "grad_accum %lld is not a multiple of the %d processes: each process computes whole "
              "micro-batches of the global batch (batch_size x grad_accum), so set grad_accum to a multiple "
              "of %d (e.g. halve batch_size and double grad_accum)",
              (long long)cfg.grad_accum, c.size(), c.size());
}

TrainConfig Session::validated(TrainConfig cfg) {
  cfg.validate();
  cfg.schedule.total_steps = cfg.steps;
  LLADA_CHECK(!cfg.out.empty(), "training configuration: no run directory (\"out\" or --out)");
  return cfg;
}

// An earlier run is replaced only with --force; half-written checkpoints of a killed run go.
void Session::prepare_run_dir() {
  if (!ro_.resume && run_dir_->holds_run()) {
    LLADA_CHECK(ro_.force,
                "--out %s holds an earlier run (metrics.jsonl, checkpoints or final/): pass --resume to "
                "continue it or --force to replace it",
                cfg_.out.c_str());
    run_dir_->clear_run();
    std::fprintf(stderr, "--force: removed the earlier run in %s\n", cfg_.out.c_str());
  }
  if (const int n = run_dir_->remove_partial_checkpoints())
    std::fprintf(stderr, "removed %d half-written checkpoint folder(s) of a killed run in %s\n", n, cfg_.out.c_str());
}

// The configured tokenizer, else the one beside init_from (copied into every checkpoint).
void Session::load_tokenizer() {
  if (!cfg_.tokenizer.empty()) {
    tok_ = Tokenizer::load(cfg_.tokenizer);
  } else if (!cfg_.init_from.empty() && file_exists((fs::path(cfg_.init_from) / "tokenizer.json").string())) {
    tok_ = Tokenizer::load(cfg_.init_from);
  }
}

bool Session::resume() {
  const std::string ck = latest_checkpoint(cfg_.out);
  LLADA_CHECK(!ck.empty(), "--resume: %s has no checkpoint (no 'latest' file)", cfg_.out.c_str());
  load_checkpoint(ck, &model_, nullptr, &st_);
  opt_ = AdamW(model_.w, cfg_.adamw);
  load_optimizer((fs::path(ck) / "optimizer.safetensors").string(), &opt_);
  // Fields that change the trajectory must match; steps, out, intervals and threads may change.
  for (const char* k : {"objective", "seq_len", "batch_size", "grad_accum", "seed", "diffusion", "sft", "data"})
    LLADA_CHECK(st_.config.contains(k) && st_.config[k] == cfg_.to_json()[k],
                "--resume: field %s differs from the checkpoint's configuration (%s): %s vs %s", k,
                ck.c_str(), st_.config.contains(k) ? st_.config[k].dump().c_str() : "missing",
                cfg_.to_json()[k].dump().c_str());
  const json mix_then = st_.config.value("sft_mix", json()), mix_now = cfg_.to_json().value("sft_mix", json());
  LLADA_CHECK(mix_then == mix_now, "--resume: field sft_mix differs from the checkpoint's configuration (%s): %s vs %s",
              ck.c_str(), mix_then.dump().c_str(), mix_now.dump().c_str());
  if (st_.step >= cfg_.steps) {
    std::fprintf(stderr, "nothing to do: the run in %s has already done %lld of %lld steps (raise --steps to "
                 "train on)\n", cfg_.out.c_str(), (long long)st_.step, (long long)cfg_.steps);
    res_.steps_done = st_.step;
    res_.nothing_to_do = true;
    const fs::path final_dir = fs::path(cfg_.out) / "final";
    if (fs::exists(final_dir)) res_.final_dir = final_dir.string();
    return false;
  }
  noise_.set_state(st_.noise_rng);
  data_->set_state(st_.data_state);
  if (sft_mix_) {
    LLADA_CHECK(!st_.sft_mix_state.is_null(), "--resume: %s has no sft_mix reader state", ck.c_str());
    sft_mix_->set_state(st_.sft_mix_state);
  }
  if (writer()) truncate_metrics(metrics_path_, st_.step);
  std::fprintf(stderr, "resuming from %s (step %lld)\n", ck.c_str(), (long long)st_.step);
  return true;
}

void Session::start_fresh() {
  if (!cfg_.init_from.empty()) {
    LoadOptions lo;
    lo.force_f32 = true;
    model_ = Model::load(cfg_.init_from, lo);
  } else {
    model_ = new_model(cfg_, tok_ ? &*tok_ : nullptr);
  }
  opt_ = AdamW(model_.w, cfg_.adamw);
  std::error_code ec;
  if (writer()) fs::remove(metrics_path_, ec);
}

bool Session::start() {
  if (cfg_.threads > 0) set_num_threads(cfg_.threads);
  if (!cfg_.progress || !writer()) Progress::set_enabled(false);
  load_tokenizer();
  noise_ = Rng(cfg_.seed ^ kNoiseStream);
  data_ = open_data_source(cfg_, cfg_.train_data, false, cfg_.seed ^ kDataStream);
  if (cfg_.sft_mix_every > 0) sft_mix_ = open_sft_mix_source(cfg_, cfg_.seed ^ kSftMixStream);
  metrics_path_ = (fs::path(cfg_.out) / "metrics.jsonl").string();
  if (ro_.resume) {
    if (!resume()) return false;
  } else {
    start_fresh();
  }
  check_model_fits(model_, cfg_);
  if (!cfg_.init_from.empty() && !ro_.resume) check_fits_in_memory(model_.cfg, cfg_);
  st_.config = cfg_.to_json();
  st_.config["data_fingerprints"] = data_fingerprints_;
  st_.config["world_size"] = world();
  if (writer()) write_file_atomic((fs::path(cfg_.out) / "config.json").string(), st_.config.dump(2) + "\n");
  if (writer() && cfg_.precision == "bf16" && !kernels::bf16_products_native())
    std::fprintf(stderr,
                 "llada train: this CPU has no bf16 matrix products (they need AVX-512): bf16 is "
                 "emulated with f32 products of bf16-rounded operands, the same numbers, slower "
                 "than --precision f32\n");
  data_->check_vocab(model_.cfg.vocab_size);
  if (sft_mix_) sft_mix_->check_vocab(model_.cfg.vocab_size);
  micro_sum_.emplace(model_.w);
  if (writer()) {
    metrics_.reset(std::fopen(metrics_path_.c_str(), "a"));
    LLADA_CHECK(metrics_ != nullptr, "%s: cannot open for appending", metrics_path_.c_str());
  }
  return true;
}

// The step's gradients summed over the global batch's micro-batches (this rank's share, then the
// ranks' sum; grad_sum.h fixes the order); returns the loss.
double Session::step_gradients(int64_t step, double lr) {
  const DType products = cfg_.precision == "bf16" ? DType::BF16 : DType::F32;
  const float scale = 1.0f / float(cfg_.grad_accum);
  const int64_t share = cfg_.grad_accum / world();
  BatchMaker bm{cfg_, model_.cfg, {}, {}};
  const bool sft_step = sft_mix_ && cfg_.sft_mix_step(step);
  const int64_t sft_batch = cfg_.sft_mix_batch > 0 ? cfg_.sft_mix_batch : cfg_.batch_size;
  for (int64_t a = 0; a < cfg_.grad_accum; ++a) {
    // Every rank draws every micro-batch (cheap beside the model), so the data and noise streams
    // are the global batch's whatever the world size.
    if (sft_step)
      bm.make_sft(*sft_mix_, noise_, tb_, scale, false, sft_batch, /*pad_to_batch=*/true);
    else
      bm.make(*data_, noise_, tb_, scale, false);
    if (ro_.on_batch) ro_.on_batch(step, tb_);
    interval_tokens_ += tb_.tokens();
    session_tokens_ += tb_.tokens();
    st_.tokens_seen += tb_.tokens();
    if (a / share != rank()) continue;
    Weights& leaf = micro_sum_->begin_leaf();
    double loss = 0;  // nothing masked (tiny p on a short row): no loss, a zero gradient
    if (!tb_.rows.empty())
      loss = model_forward_backward(model_, forward_args(tb_, products), tb_.targets.data(), tb_.weights.data(),
                                    leaf, ws_);
    micro_sum_->end_leaf(loss);
  }
  double loss = 0;
  FlatWeights& sum = micro_sum_->finish(&loss);
  if (world() > 1) ro_.collective->sum(sum.data, sum.n, &loss);
  grads_ = &sum.w;
  LLADA_CHECK(std::isfinite(loss), "training diverged: loss is %g at step %lld (lr %g)", loss,
              (long long)step + 1, lr);
  return loss;
}

void Session::log_step(double loss, double lr, double gnorm) {
  interval_loss_ += loss;
  ++interval_steps_;
  const double now = now_seconds();
  const double tok_s = double(session_tokens_) / std::max(1e-9, now - t0_);
  if (st_.step % cfg_.log_every != 0 && st_.step != cfg_.steps) return;
  res_.last_loss = interval_loss_ / double(interval_steps_);
  if (metrics_) {
    json line = {{"step", st_.step},
                 {"loss", res_.last_loss},
                 {"lr", lr},
                 {"grad_norm", gnorm},
                 {"tokens", st_.tokens_seen},
                 {"tok_per_s", double(interval_tokens_) / std::max(1e-9, now - interval_t_)},
                 {"elapsed_s", st_.elapsed_s + (now - t0_)},
                 {"world_size", world()}};
    if (world() > 1) {
      const double comm = ro_.collective->seconds_in_sum(), wait = ro_.collective->seconds_waiting();
      line["comm_s"] = comm - interval_comm0_;
      line["wait_s"] = wait - interval_wait0_;
      interval_comm0_ = comm;
      interval_wait0_ = wait;
    }
    std::fprintf(metrics_.get(), "%s\n", line.dump().c_str());
    std::fflush(metrics_.get());
  }
  if (!Progress::enabled() && writer()) {  // no bar (not a terminal, --no-progress): log lines
    const double rate = double(session_steps_) / std::max(1e-9, now - t0_);
    const double eta = rate > 0 ? double(cfg_.steps - st_.step) / rate : 0;
    std::fprintf(stderr, "step %lld/%lld  loss %.4f%s  %s tok/s  elapsed %.0f s  ETA %.0f s\n",
                 (long long)st_.step, (long long)cfg_.steps, res_.last_loss,
                 res_.last_eval_loss >= 0 ? strformat("  held-out %.4f", res_.last_eval_loss).c_str() : "",
                 human_rate(tok_s).c_str(), now - t0_, eta);
  }
  interval_loss_ = 0;
  interval_steps_ = 0;
  interval_tokens_ = 0;
  interval_t_ = now;
}

void Session::maybe_evaluate(bool last) {
  if (!writer() || cfg_.heldout_data.empty() || cfg_.eval_batches <= 0) return;
  if (!((cfg_.eval_every > 0 && st_.step % cfg_.eval_every == 0) || last)) return;
  res_.last_eval_loss = evaluate(model_, cfg_, ws_);
  if (metrics_) {
    std::fprintf(metrics_.get(), "%s\n", json({{"step", st_.step}, {"eval_loss", res_.last_eval_loss}}).dump().c_str());
    std::fflush(metrics_.get());
  }
}

void Session::checkpoint() {
  if (!writer()) return;
  st_.noise_rng = noise_.state();
  st_.data_state = data_->state();
  st_.sft_mix_state = sft_mix_ ? sft_mix_->state() : json();
  const double t_ck = now_seconds();
  st_.elapsed_s += t_ck - t0_;  // store the total so far; undone below to keep t0-based sums
  save_checkpoint(cfg_.out, model_, opt_, st_, tok_ ? &*tok_ : nullptr, cfg_.keep_checkpoints);
  st_.elapsed_s -= t_ck - t0_;
}

void Session::save_final() {
  res_.seconds = now_seconds() - t0_;
  res_.tokens_per_s = double(session_tokens_) / std::max(1e-9, res_.seconds);
  res_.steps_done = st_.step;
  if (!writer()) return;
  // The deliverable: the model in the requested dtype with its tokenizer, loadable everywhere.
  const fs::path final_dir = fs::path(cfg_.out) / "final";
  model_.save(final_dir.string(), cfg_.save_dtype == "f32" ? DType::F32 : DType::BF16);
  if (tok_) tok_->save(final_dir.string());
  res_.final_dir = final_dir.string();
}

void Session::train() {
  Progress bar("train", cfg_.steps, "step", st_.step);
  InterruptGuard interrupt;
  t0_ = interval_t_ = now_seconds();
  if (ro_.eval_at_start && !cfg_.heldout_data.empty() && cfg_.eval_batches > 0) {
    res_.first_eval_loss = evaluate(model_, cfg_, ws_);
    if (metrics_)
      std::fprintf(metrics_.get(), "%s\n", json({{"step", st_.step}, {"eval_loss", res_.first_eval_loss}}).dump().c_str());
  }
  for (int64_t step = st_.step; step < cfg_.steps; ++step) {
    if (ro_.stop_after >= 0 && session_steps_ >= ro_.stop_after) {
      res_.steps_done = step;
      res_.seconds = now_seconds() - t0_;
      return;  // simulated kill: nothing more is written
    }
    const double lr = cfg_.schedule.lr(step);
    if (ro_.on_lr) ro_.on_lr(step, lr);
    const double loss = step_gradients(step, lr);
    const double gnorm = clip_grad_norm(*grads_, cfg_.grad_clip);
    LLADA_CHECK(std::isfinite(gnorm), "training diverged: gradient norm is %g at step %lld", gnorm,
                (long long)step + 1);
    opt_.step(model_.w, *grads_, lr);
    st_.step = step + 1;
    ++session_steps_;
    if (ro_.on_step) ro_.on_step(st_.step, loss);
    bar.update(st_.step, strformat("loss %.4f%s  %s tok/s", loss,
                                   res_.last_eval_loss >= 0 ? strformat("  held-out %.4f", res_.last_eval_loss).c_str() : "",
                                   human_rate(double(session_tokens_) / std::max(1e-9, now_seconds() - t0_)).c_str()));
    log_step(loss, lr, gnorm);
    const bool last = st_.step == cfg_.steps;
    maybe_evaluate(last);
    bool stop = interrupt.requested() && !last;
    if (world() > 1 && !last) stop = ro_.collective->any(stop);  // every rank stops at the same step
    if ((cfg_.checkpoint_every > 0 && st_.step % cfg_.checkpoint_every == 0) || last || stop) checkpoint();
    if (stop) {
      bar.finish(strformat("interrupted at step %lld", (long long)st_.step));
      if (writer())
        std::fprintf(stderr, "stopped by signal %d at step %lld: checkpoint written; continue with --resume\n",
                     interrupt.signal(), (long long)st_.step);
      res_.interrupted = true;
      res_.steps_done = st_.step;
      res_.seconds = now_seconds() - t0_;
      res_.tokens_per_s = double(session_tokens_) / std::max(1e-9, res_.seconds);
      return;
    }
  }
  bar.finish(strformat("loss %.4f", res_.last_loss));
  save_final();
}

}  // namespace

TrainResult run_training(const TrainConfig& cfg, const RunOptions& ro) {
  Session s(cfg, ro);
  if (s.start()) s.train();
  return std::move(s).result();
}

}  // namespace llada::train
