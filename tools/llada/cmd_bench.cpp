// `llada bench`: time the forward (or forward+backward) of any model directory, so engines can be
// compared on the same checkpoint. The forward runs on packed weights (kernels/packed_matmul.h),
// as inference does; --no-pack runs it through kernels::gemm (oneDNN) instead. With --matmul-peak
// it also times the forward's own GEMMs alone in the same run: through oneDNN (the matrix library's
// own rate on the same shapes and weight dtype) and, for the forward, through the packed kernels,
// so the model's distance from the matrix-product peak is measured rather than quoted.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/sys.h"
#include "kernels/matmul.h"
#include "model/model.h"

namespace {

using namespace llada;

struct BenchArgs {
  std::string model, dtype, precision = "f32";
  int64_t seq_len = 0, batch = 1;
  bool backward = false, json = false, matmul_peak = false, no_pack = false;
  int threads = 0, iters = 10, warmup = 2;
};

struct Timing {
  double median_ms = 0, min_ms = 0;
};

template <typename F>
Timing time_it(int warmup, int iters, F&& f) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) {
    const double t0 = now_seconds();
    f();
    ms.push_back((now_seconds() - t0) * 1e3);
  }
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return {n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]), ms.front()};
}

// The GEMMs one forward (and, with backward, one backward) performs on N rows, through the same
// interface and on the model's own weights. Attention's score and value products are not GEMMs in
// the engine (they live in the attention kernel) and are not included; their FLOPs are reported.
class GemmReplay {
 public:
  // packed: run the forward products through the model's packed weights (forward only).
  // bf16: every product in bf16 (kernels::gemm_bf16), as mixed-precision training runs them.
  GemmReplay(const Model& m, int64_t N, bool backward, bool packed = false, bool bf16 = false)
      : m_(m), N_(N), backward_(backward), packed_(packed && m.packed && !backward),
        gemm_(bf16 ? kernels::gemm_bf16 : kernels::gemm) {
    const ModelConfig& c = m.cfg;
    const int64_t widest = std::max({c.d_model, c.mlp_hidden_size, c.embedding_size, c.kv_dim()});
    x_.assign(size_t(N * widest), 0.0f);
    y_.assign(size_t(N * widest), 0.0f);
    if (backward) dx_.assign(size_t(N * widest), 0.0f);
    Rng r(7);
    for (auto& v : x_) v = float(r.normal());
    for (auto& v : y_) v = float(r.normal()) * 0.01f;
    if (backward) {
      int64_t biggest = 0;
      m.w.for_each([&](const Tensor& t) { biggest = std::max(biggest, t.numel()); });
      dw_.assign(size_t(biggest), 0.0f);
    }
  }

  // y[N,out] = x[N,in]·Wᵀ; with backward also dx = dy·W and dW += dyᵀ·x.
  void linear(const Tensor& W, const kernels::PackedMatrix* P) {
    const int64_t out = W.shape[0], in = W.shape[1];
    if (packed_)
      kernels::gemm_packed(N_, x_.data(), in, *P, y_.data(), out);
    else
      gemm_(N_, out, in, {x_.data(), DType::F32, in, false}, {W.data, W.dtype, in, true}, y_.data(),
            out, 0.0f);
    flops_ += 2.0 * double(N_ * out * in);
    if (!backward_) return;
    gemm_(N_, in, out, {y_.data(), DType::F32, out, false}, {W.data, W.dtype, in, false},
          dx_.data(), in, 0.0f);
    gemm_(out, in, N_, {y_.data(), DType::F32, out, true}, {x_.data(), DType::F32, in, false},
          dw_.data(), in, 1.0f);
    flops_ += 4.0 * double(N_ * out * in);
  }

  void run() {
    flops_ = 0;
    for_each_product_weight(m_.w, [&](const WeightInfo&, const Tensor& W) {
      linear(W, packed_ ? m_.packed_of(W) : nullptr);
    });
  }
  double flops() const { return flops_; }

 private:
  const Model& m_;
  int64_t N_;
  bool backward_, packed_;
  decltype(&kernels::gemm) gemm_;
  std::vector<float> x_, y_, dx_, dw_;  // dx apart from x: no feedback into denormals
  double flops_ = 0;
};

// What one run measured, for the JSON and the text report.
struct BenchResult {
  Timing t, gemm, packed_gemm;
  double flops = 0, gemm_flops = 0, packed_gemm_flops = 0, load_s = 0, rss_mb = 0;
  bool packed = false;
  const char* dtype = "";
  double gflops() const { return flops / (t.median_ms * 1e-3) / 1e9; }
  double gemm_gflops() const { return gemm_flops / (gemm.median_ms * 1e-3) / 1e9; }
  double packed_gemm_gflops() const { return packed_gemm_flops / (packed_gemm.median_ms * 1e-3) / 1e9; }
};

void check_bench_args(const BenchArgs& o) {
  LLADA_CHECK(o.seq_len > 0, "--seq-len: %lld, expected > 0", (long long)o.seq_len);
  LLADA_CHECK(o.batch > 0, "--batch: %lld, expected > 0", (long long)o.batch);
  LLADA_CHECK(o.iters > 0, "--iters: %d, expected > 0", o.iters);
  LLADA_CHECK(o.warmup >= 0, "--warmup: %d, expected >= 0", o.warmup);
  LLADA_CHECK(o.precision == "f32" || o.precision == "bf16", "--precision: '%s' is not f32 or bf16",
              o.precision.c_str());
  LLADA_CHECK(o.dtype.empty() || o.dtype == "f32" || o.dtype == "bf16", "--dtype: '%s' is not f32 or bf16",
              o.dtype.c_str());
}

// Loads (and, for a forward, packs) the model; the time it took goes to r.load_s.
Model load_bench_model(const BenchArgs& o, BenchResult& r) {
  LoadOptions lo;
  if (!o.dtype.empty()) {
    lo.convert = true;
    lo.convert_to = o.dtype == "f32" ? DType::F32 : DType::BF16;
  }
  const double t0 = now_seconds();
  Model m = Model::load(o.model, lo);
  LLADA_CHECK(!o.backward || m.cfg.quantization.empty(),
              "--backward: %s holds %s weights, which serve inference only (no gradients): time the forward, "
              "or the float model it was quantized from", o.model.c_str(), m.cfg.quantization.c_str());
  // Inference packs its weights once (llada generate, logits, likelihood do too); training updates
  // weights in place and runs on kernels::gemm, so forward+backward is timed unpacked.
  r.packed = !o.backward && !o.no_pack;
  if (r.packed) m.pack_for_inference();
  r.load_s = now_seconds() - t0;  // reading, checking and packing the weights
  r.dtype = dtype_name(m.w.layers.empty() ? m.w.wte.dtype : m.w.layers[0].q_proj.dtype);
  return m;
}

// Times the forward (or forward+backward of a weighted CE over every position) on random ids.
void time_model(const BenchArgs& o, const Model& m, BenchResult& r) {
  const ModelConfig& c = m.cfg;
  const int64_t B = o.batch, T = o.seq_len, N = B * T;
  Rng rng(1234);  // fixed ids and targets; every row is a target with weight 1/N
  const size_t n = static_cast<size_t>(N);
  std::vector<int32_t> ids(n), targets(n), rows(n);
  std::vector<float> weights(n, 1.0f / float(N));
  for (int64_t i = 0; i < N; ++i) {
    ids[size_t(i)] = int32_t(rng.below(uint64_t(c.vocab_size)));
    targets[size_t(i)] = int32_t(rng.below(uint64_t(c.vocab_size)));
    rows[size_t(i)] = int32_t(i);
  }
  ForwardArgs a;
  a.B = B;
  a.T = T;
  a.ids = ids.data();
  a.causal = c.causal;
  a.matmul_dtype = o.precision == "bf16" ? DType::BF16 : DType::F32;
  Workspace ws;
  Weights grads;
  if (o.backward) {
    grads = Weights::like(m.w, DType::F32);
    a.rows = rows.data();
    a.n_rows = N;
  }
  r.t = time_it(o.warmup, o.iters, [&] {
    if (o.backward)
      model_forward_backward(m, a, targets.data(), weights.data(), grads, ws);
    else
      model_forward(m, a, ws);
  });
  r.flops = forward_flops(c, B, T, T, N) * (o.backward ? 3.0 : 1.0);
}

// The same GEMMs alone through kernels::gemm (and on the packed weights, for a forward).
void time_matmul_peak(const BenchArgs& o, const Model& m, BenchResult& r) {
  const int64_t N = o.batch * o.seq_len;
  GemmReplay replay(m, N, o.backward, /*packed=*/false, o.precision == "bf16");
  r.gemm = time_it(o.warmup, o.iters, [&] { replay.run(); });
  r.gemm_flops = replay.flops();
  if (!r.packed) return;
  GemmReplay preplay(m, N, false, /*packed=*/true);
  r.packed_gemm = time_it(o.warmup, o.iters, [&] { preplay.run(); });
  r.packed_gemm_flops = preplay.flops();
}

void print_json(const BenchArgs& o, const Model& m, const BenchResult& r) {
  const int64_t N = o.batch * o.seq_len;
  nlohmann::json j = {{"model", o.model},       {"ms_median", r.t.median_ms},
                      {"ms_min", r.t.min_ms},   {"tokens_per_s", double(N) / (r.t.median_ms * 1e-3)},
                      {"gflops", r.gflops()},   {"peak_rss_mb", r.rss_mb},
                      {"load_s", r.load_s},
                      {"threads", num_threads()}, {"dtype", r.dtype},
                      {"precision", o.precision},
                      {"seq_len", o.seq_len},   {"batch", o.batch},
                      {"backward", o.backward}, {"n_params", m.cfg.n_params()},
                      {"iters", o.iters},       {"gflop_per_iter", r.flops / 1e9},
                      {"gemm_backend", kernels::gemm_backend_name()},
                      {"packed_weights", r.packed}};
  if (o.matmul_peak) {
    j["matmul_ms_median"] = r.gemm.median_ms;
    j["matmul_gflops"] = r.gemm_gflops();
    j["matmul_gflop_per_iter"] = r.gemm_flops / 1e9;
    j["fraction_of_matmul_peak"] = r.gflops() / r.gemm_gflops();
    if (r.packed) {
      j["packed_matmul_ms_median"] = r.packed_gemm.median_ms;
      j["packed_matmul_gflops"] = r.packed_gemm_gflops();
    }
  }
  std::printf("%s\n", j.dump().c_str());
}

void print_text(const BenchArgs& o, const Model& m, const BenchResult& r) {
  const int64_t N = o.batch * o.seq_len;
  std::printf("model %s: %.2f M parameters, %s weights%s%s, batch %lld x seq %lld, %s, %d threads\n",
              o.model.c_str(), double(m.cfg.n_params()) / 1e6, r.dtype, r.packed ? " (packed)" : "",
              o.precision == "bf16" ? ", bf16 products" : "", (long long)o.batch, (long long)o.seq_len,
              o.backward ? "forward+backward" : "forward", num_threads());
  std::printf("  median %.2f ms (min %.2f, %d iters), %.0f tokens/s, %.1f GFLOP/s (%.2f GFLOP), "
              "peak RSS %.0f MB, load %.2f s\n",
              r.t.median_ms, r.t.min_ms, o.iters, double(N) / (r.t.median_ms * 1e-3), r.gflops(), r.flops / 1e9,
              r.rss_mb, r.load_s);
  if (o.matmul_peak)
    std::printf("  matmul peak (%s, the same GEMMs alone): %.2f ms, %.1f GFLOP/s (%.2f GFLOP); "
                "model at %.0f%% of it\n",
                kernels::gemm_backend_name(), r.gemm.median_ms, r.gemm_gflops(), r.gemm_flops / 1e9,
                100.0 * r.gflops() / r.gemm_gflops());
  if (o.matmul_peak && r.packed)
    std::printf("  the same GEMMs on the packed weights: %.2f ms, %.1f GFLOP/s\n", r.packed_gemm.median_ms,
                r.packed_gemm_gflops());
}

int run_bench(const BenchArgs& o) {
  check_bench_args(o);
  set_num_threads(o.threads);
  BenchResult r;
  const Model m = load_bench_model(o, r);
  time_model(o, m, r);
  if (o.matmul_peak) time_matmul_peak(o, m, r);
  r.rss_mb = peak_rss_mb();
  if (o.json)
    print_json(o, m, r);
  else
    print_text(o, m, r);
  return 0;
}

llada::cli::Registration reg(
    "bench", "Time the forward (or forward+backward) of a model directory", [](CLI::App& app) {
      auto o = std::make_shared<BenchArgs>();
      app.add_option("--model", o->model, "model directory")->required();
      app.add_option("--seq-len", o->seq_len, "positions per sequence")->required();
      app.add_option("--batch", o->batch, "sequences per call (default 1)");
      app.add_flag("--backward", o->backward,
                   "time forward+backward of a weighted CE over every position");
      app.add_option("--threads", o->threads, "OpenMP threads (default: all)");
      app.add_option("--iters", o->iters, "timed iterations (default 10)");
      app.add_option("--warmup", o->warmup, "untimed iterations first (default 2)");
      app.add_option("--dtype", o->dtype, "convert the matrices at load: f32 or bf16 (default: as stored)");
      app.add_option("--precision", o->precision,
                     "f32 | bf16: bf16 products of f32 weights, as `llada train --precision bf16`");
      app.add_flag("--json", o->json, "print one JSON object");
      app.add_flag("--no-pack", o->no_pack,
                   "forward through kernels::gemm (oneDNN) instead of packed weights");
      app.add_flag("--matmul-peak", o->matmul_peak,
                   "also time the same GEMMs alone through kernels::gemm and print the fraction");
      return [o]() -> int { return run_bench(*o); };
    });

}  // namespace
