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

int run_bench(const BenchArgs& o) {
  LLADA_CHECK(o.seq_len > 0, "--seq-len: %lld, expected > 0", (long long)o.seq_len);
  LLADA_CHECK(o.batch > 0, "--batch: %lld, expected > 0", (long long)o.batch);
  LLADA_CHECK(o.iters > 0, "--iters: %d, expected > 0", o.iters);
  LLADA_CHECK(o.warmup >= 0, "--warmup: %d, expected >= 0", o.warmup);
  set_num_threads(o.threads);
  LLADA_CHECK(o.precision == "f32" || o.precision == "bf16", "--precision: '%s' is not f32 or bf16",
              o.precision.c_str());
  const bool bf16_products = o.precision == "bf16";

  LoadOptions lo;
  if (!o.dtype.empty()) {
    LLADA_CHECK(o.dtype == "f32" || o.dtype == "bf16", "--dtype: '%s' is not f32 or bf16",
                o.dtype.c_str());
    lo.convert = true;
    lo.convert_to = o.dtype == "f32" ? DType::F32 : DType::BF16;
  }
  const double t_load0 = now_seconds();
  Model m = Model::load(o.model, lo);
  // Inference packs its weights once (llada generate, logits, likelihood do too); training updates
  // weights in place and runs on kernels::gemm, so forward+backward is timed unpacked.
  const bool packed = !o.backward && !o.no_pack;
  if (packed) m.pack_for_inference();
  const double load_s = now_seconds() - t_load0;  // reading, checking and packing the weights
  const ModelConfig& c = m.cfg;
  const int64_t B = o.batch, T = o.seq_len, N = B * T;

  // Random ids and targets (fixed seed); every row is a target with weight 1/N.
  Rng rng(1234);
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
  a.matmul_dtype = bf16_products ? DType::BF16 : DType::F32;
  Workspace ws;
  Weights grads;
  if (o.backward) {
    grads = Weights::like(m.w, DType::F32);
    a.rows = rows.data();
    a.n_rows = N;
  }
  const Timing t = time_it(o.warmup, o.iters, [&] {
    if (o.backward)
      model_forward_backward(m, a, targets.data(), weights.data(), grads, ws);
    else
      model_forward(m, a, ws);
  });
  const double flops = forward_flops(c, B, T, T, N) * (o.backward ? 3.0 : 1.0);
  const double gflops = flops / (t.median_ms * 1e-3) / 1e9;
  const double tokens_per_s = double(N) / (t.median_ms * 1e-3);
  const char* dtype = dtype_name(m.w.layers.empty() ? m.w.wte.dtype : m.w.layers[0].q_proj.dtype);

  Timing gt, pt;
  double gemm_gflops = 0, gemm_flops = 0, packed_gflops = 0;
  if (o.matmul_peak) {
    GemmReplay replay(m, N, o.backward, /*packed=*/false, bf16_products);
    gt = time_it(o.warmup, o.iters, [&] { replay.run(); });
    gemm_flops = replay.flops();
    gemm_gflops = gemm_flops / (gt.median_ms * 1e-3) / 1e9;
    if (packed) {
      GemmReplay preplay(m, N, false, /*packed=*/true);
      pt = time_it(o.warmup, o.iters, [&] { preplay.run(); });
      packed_gflops = preplay.flops() / (pt.median_ms * 1e-3) / 1e9;
    }
  }
  const double rss = peak_rss_mb();

  if (o.json) {
    nlohmann::json j = {{"model", o.model},       {"ms_median", t.median_ms},
                        {"ms_min", t.min_ms},     {"tokens_per_s", tokens_per_s},
                        {"gflops", gflops},       {"peak_rss_mb", rss},
                        {"load_s", load_s},
                        {"threads", num_threads()}, {"dtype", dtype},
                        {"precision", o.precision},
                        {"seq_len", T},           {"batch", B},
                        {"backward", o.backward}, {"n_params", c.n_params()},
                        {"iters", o.iters},       {"gflop_per_iter", flops / 1e9},
                        {"gemm_backend", kernels::gemm_backend_name()},
                        {"packed_weights", packed}};
    if (o.matmul_peak) {
      j["matmul_ms_median"] = gt.median_ms;
      j["matmul_gflops"] = gemm_gflops;
      j["matmul_gflop_per_iter"] = gemm_flops / 1e9;
      j["fraction_of_matmul_peak"] = gflops / gemm_gflops;
      if (packed) {
        j["packed_matmul_ms_median"] = pt.median_ms;
        j["packed_matmul_gflops"] = packed_gflops;
      }
    }
    std::printf("%s\n", j.dump().c_str());
    return 0;
  }
  std::printf("model %s: %.2f M parameters, %s weights%s%s, batch %lld x seq %lld, %s, %d threads\n",
              o.model.c_str(), double(c.n_params()) / 1e6, dtype, packed ? " (packed)" : "",
              bf16_products ? ", bf16 products" : "",
              (long long)B, (long long)T, o.backward ? "forward+backward" : "forward",
              num_threads());
  std::printf("  median %.2f ms (min %.2f, %d iters), %.0f tokens/s, %.1f GFLOP/s (%.2f GFLOP), "
              "peak RSS %.0f MB, load %.2f s\n",
              t.median_ms, t.min_ms, o.iters, tokens_per_s, gflops, flops / 1e9, rss, load_s);
  if (o.matmul_peak)
    std::printf("  matmul peak (%s, the same GEMMs alone): %.2f ms, %.1f GFLOP/s (%.2f GFLOP); "
                "model at %.0f%% of it\n",
                kernels::gemm_backend_name(), gt.median_ms, gemm_gflops, gemm_flops / 1e9,
                100.0 * gflops / gemm_gflops);
  if (o.matmul_peak && packed)
    std::printf("  the same GEMMs on the packed weights: %.2f ms, %.1f GFLOP/s\n", pt.median_ms,
                packed_gflops);
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
