// The model's non-gemm ops at the 100M model's shapes (d 1024, ffn 2816, 16 heads of 64, vocab
// 1024) for M = 160 and 512 tokens, plus the scalar references as the in-run baseline.
// Run: OMP_NUM_THREADS=2 build/<dir>/bench/bench_kernels
// Rates are per CPU-second of the process (see bench_matmul.cpp).
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"

using namespace llada;
using namespace llada::kernels;

namespace {

std::vector<float> rnd(size_t n, float scale = 1.0f) {
  std::mt19937 g(7);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

AttnShape attn_shape(int64_t T) {
  AttnShape s{};
  s.B = 1;
  s.Tq = T;
  s.Tk = T;
  s.H = 16;
  s.KVH = 16;
  s.hd = 64;
  s.q_bs = T * 16 * 64;
  s.kv_bs = T * 16 * 64;
  return s;
}

double attn_flops(const AttnShape& s) { return 4.0 * s.B * s.H * s.Tq * s.Tk * s.hd; }

void set_rate(benchmark::State& st, double work, const char* name = "GFLOP/cpu-s") {
  st.counters[name] = benchmark::Counter(work, benchmark::Counter::kIsIterationInvariantRate,
                                         benchmark::Counter::kIs1000);
}

void BM_attention_fwd(benchmark::State& st) {
  const AttnShape s = attn_shape(st.range(0));
  const bool keep_probs = st.range(1);
  auto q = rnd(s.q_bs), k = rnd(s.kv_bs), v = rnd(s.kv_bs);
  std::vector<float> out(q.size()), probs(size_t(s.H * s.Tq * s.Tk)),
      scratch(size_t(attention_scratch_floats(s)));
  for (auto _ : st)
    attention_forward(out.data(), keep_probs ? probs.data() : nullptr, q.data(), k.data(), v.data(),
                      nullptr, s, scratch.data());
  set_rate(st, attn_flops(s));
}
BENCHMARK(BM_attention_fwd)->ArgsProduct({{160, 512}, {0, 1}})->ArgNames({"T", "probs"});

void BM_attention_fwd_ref(benchmark::State& st) {
  const AttnShape s = attn_shape(st.range(0));
  auto q = rnd(s.q_bs), k = rnd(s.kv_bs), v = rnd(s.kv_bs);
  std::vector<float> out(q.size()), probs(size_t(s.H * s.Tq * s.Tk));
  for (auto _ : st)
    ref::attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), nullptr, s);
  set_rate(st, attn_flops(s));
}
BENCHMARK(BM_attention_fwd_ref)->Arg(160)->ArgName("T");

void BM_attention_bwd(benchmark::State& st) {
  const AttnShape s = attn_shape(st.range(0));
  auto q = rnd(s.q_bs), k = rnd(s.kv_bs), v = rnd(s.kv_bs), g = rnd(s.q_bs);
  std::vector<float> out(q.size()), probs(size_t(s.H * s.Tq * s.Tk)),
      scratch(size_t(attention_scratch_floats(s))), dq(q.size()), dk(k.size()), dv(v.size());
  attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), nullptr, s,
                    scratch.data());
  for (auto _ : st)
    attention_backward(dq.data(), dk.data(), dv.data(), g.data(), probs.data(), q.data(), k.data(),
                       v.data(), s, scratch.data());
  set_rate(st, 2.0 * attn_flops(s));
}
BENCHMARK(BM_attention_bwd)->Arg(160)->Arg(512)->ArgName("T");

void BM_rmsnorm_fwd(benchmark::State& st) {
  const int64_t N = st.range(0), C = 1024;
  auto x = rnd(N * C), w = rnd(C);
  std::vector<float> out(x.size()), rstd(N);
  for (auto _ : st) rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
  set_rate(st, 2.0 * 4 * N * C, "GB/cpu-s");
}
BENCHMARK(BM_rmsnorm_fwd)->Arg(160)->Arg(512);

void BM_rmsnorm_bwd(benchmark::State& st) {
  const int64_t N = st.range(0), C = 1024;
  auto x = rnd(N * C), w = rnd(C), g = rnd(N * C);
  std::vector<float> out(x.size()), rstd(N), dx(x.size()), dw(C);
  rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
  for (auto _ : st)
    rmsnorm_backward(dx.data(), dw.data(), g.data(), x.data(), w.data(), rstd.data(), N, C);
  set_rate(st, 4.0 * 4 * N * C, "GB/cpu-s");
}
BENCHMARK(BM_rmsnorm_bwd)->Arg(160)->Arg(512);

void BM_rope_fwd(benchmark::State& st) {
  const int64_t N = st.range(0), H = 16, hd = 64;
  std::vector<float> cs(size_t(N * hd / 2)), sn(cs.size());
  rope_tables(cs.data(), sn.data(), N, hd, 10000.0);
  std::vector<int32_t> pos(N);
  for (int64_t i = 0; i < N; ++i) pos[i] = int32_t(i);
  auto x = rnd(N * H * hd);
  for (auto _ : st) rope_forward(x.data(), pos.data(), cs.data(), sn.data(), N, H, hd);
  set_rate(st, 2.0 * 4 * N * H * hd, "GB/cpu-s");
}
BENCHMARK(BM_rope_fwd)->Arg(160)->Arg(512);

void BM_swiglu_fwd(benchmark::State& st) {
  const int64_t n = st.range(0) * 2816;
  auto g = rnd(n), u = rnd(n);
  std::vector<float> out(n);
  for (auto _ : st) swiglu_forward(out.data(), g.data(), u.data(), n);
  set_rate(st, 3.0 * 4 * n, "GB/cpu-s");
}
BENCHMARK(BM_swiglu_fwd)->Arg(160)->Arg(512);

void BM_swiglu_fwd_ref(benchmark::State& st) {
  const int64_t n = st.range(0) * 2816;
  auto g = rnd(n), u = rnd(n);
  std::vector<float> out(n);
  for (auto _ : st) ref::swiglu_forward(out.data(), g.data(), u.data(), n);
  set_rate(st, 3.0 * 4 * n, "GB/cpu-s");
}
BENCHMARK(BM_swiglu_fwd_ref)->Arg(512);

void BM_swiglu_bwd(benchmark::State& st) {
  const int64_t n = st.range(0) * 2816;
  auto g = rnd(n), u = rnd(n), d = rnd(n);
  std::vector<float> dg(n), du(n);
  for (auto _ : st) swiglu_backward(dg.data(), du.data(), d.data(), g.data(), u.data(), n);
  set_rate(st, 5.0 * 4 * n, "GB/cpu-s");
}
BENCHMARK(BM_swiglu_bwd)->Arg(512);

// Cross-entropy fwd+bwd: rows x V (1024 = the 100M model's vocab; 126464 = LLaDA-8B's).
void BM_cross_entropy(benchmark::State& st) {
  const int64_t n = st.range(0), V = st.range(1);
  auto z = rnd(n * V, 3.0f);
  std::vector<float> d(z.size());
  std::vector<int32_t> t(n, 1);
  for (auto _ : st)
    benchmark::DoNotOptimize(
        cross_entropy_forward_backward(d.data(), nullptr, z.data(), t.data(), nullptr, n, V));
  set_rate(st, 2.0 * 4 * n * V, "GB/cpu-s");
}
BENCHMARK(BM_cross_entropy)->Args({512, 1024})->Args({16, 126464});

void BM_cross_entropy_ref(benchmark::State& st) {
  const int64_t n = st.range(0), V = st.range(1);
  auto z = rnd(n * V, 3.0f);
  std::vector<float> d(z.size());
  std::vector<int32_t> t(n, 1);
  for (auto _ : st)
    benchmark::DoNotOptimize(
        ref::cross_entropy_forward_backward(d.data(), nullptr, z.data(), t.data(), nullptr, n, V));
  set_rate(st, 2.0 * 4 * n * V, "GB/cpu-s");
}
BENCHMARK(BM_cross_entropy_ref)->Args({512, 1024});

void BM_embedding_fwd(benchmark::State& st) {
  const int64_t N = st.range(0), C = 1024, V = 1024;
  auto w = rnd(V * C);
  std::vector<int32_t> ids(N);
  for (int64_t i = 0; i < N; ++i) ids[i] = int32_t((i * 37) % V);
  std::vector<float> out(N * C);
  for (auto _ : st) embedding_forward(out.data(), ids.data(), w.data(), DType::F32, N, C);
  set_rate(st, 2.0 * 4 * N * C, "GB/cpu-s");
}
BENCHMARK(BM_embedding_fwd)->Arg(512);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("gemm_backend", gemm_backend_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
