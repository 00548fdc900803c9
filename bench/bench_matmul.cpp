// gemm throughput on the 100M model's shapes (d 1024, ffn 2816, vocab 1024) at M = 160 and 512:
// forward x·Wᵀ, dgrad dy·W, wgrad dyᵀ·x, f32 and bf16 weights; and the per-call overhead of our
// gemm against a raw oneDNN primitive executed directly (the baseline, measured in the same run).
// Run: OMP_NUM_THREADS=2 build/<dir>/bench/bench_matmul
// Rates are per CPU-second of the whole process (Google Benchmark's CPU time sums all threads), so
// they stay meaningful on a shared, oversubscribed machine: 2 x the rate is the 2-core figure when
// the threads are not descheduled. The wall-clock time is in the Time column.
#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <cstdlib>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "kernels/matmul.h"
#include "kernels/packed_matmul.h"

using namespace llada;
using namespace llada::kernels;

namespace {

std::vector<float> rnd(size_t n) {
  std::mt19937 g(1);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

std::vector<bf16_t> to_bf16(const std::vector<float>& v) {
  std::vector<bf16_t> o(v.size());
  for (size_t i = 0; i < v.size(); ++i) o[i] = f32_to_bf16(v[i]);
  return o;
}

enum Kind { kFwd, kDgrad, kWgrad };

// args: M (tokens), out features, in features, kind, weight dtype (0 f32, 1 bf16)
void BM_gemm(benchmark::State& st) {
  const int64_t T = st.range(0), out = st.range(1), in = st.range(2);
  const Kind kind = Kind(st.range(3));
  const bool bf = st.range(4) != 0;
  auto x = rnd(size_t(T * in)), w = rnd(size_t(out * in)), dy = rnd(size_t(T * out));
  auto wb = to_bf16(w);
  std::vector<float> y(size_t(std::max(T * out, std::max(T * in, out * in))));
  const void* wp = bf ? (const void*)wb.data() : (const void*)w.data();
  const DType wt = bf ? DType::BF16 : DType::F32;
  auto call = [&] {
    switch (kind) {
      case kFwd:  // y[T,out] = x[T,in] · Wᵀ
        gemm(T, out, in, Operand{x.data(), DType::F32, in}, Operand{wp, wt, in, true}, y.data(),
             out);
        break;
      case kDgrad:  // dx[T,in] = dy[T,out] · W[out,in]
        gemm(T, in, out, Operand{dy.data(), DType::F32, out}, Operand{wp, wt, in}, y.data(), in);
        break;
      case kWgrad:  // dW[out,in] += dyᵀ · x  (bf16 here means dy is rounded to bf16)
        gemm(out, in, T, Operand{dy.data(), DType::F32, out, true},
             Operand{x.data(), bf ? DType::F32 : DType::F32, in}, y.data(), in, 1.0f);
        break;
    }
  };
  if (kind == kWgrad && bf) {
    // wgrad with bf16: both activations rounded (dy via the scratch path, x pre-rounded).
    auto xb = to_bf16(x);
    for (auto _ : st)
      gemm(out, in, T, Operand{dy.data(), DType::F32, out, true},
           Operand{xb.data(), DType::BF16, in}, y.data(), in, 1.0f);
  } else {
    call();
    for (auto _ : st) call();
  }
  st.counters["GFLOP/cpu-s"] = benchmark::Counter(2.0 * double(T) * double(out) * double(in),
                                                  benchmark::Counter::kIsIterationInvariantRate,
                                                  benchmark::Counter::kIs1000);
}

void shapes(benchmark::internal::Benchmark* b) {
  const int64_t layers[][2] = {{1024, 1024}, {2816, 1024}, {1024, 2816}};  // {out, in}
  for (int64_t bf : {0, 1})
    for (int64_t kind : {kFwd, kDgrad, kWgrad})
      for (int64_t T : {160, 512})
        for (auto& l : layers) b->Args({T, l[0], l[1], kind, bf});
  b->ArgNames({"M", "out", "in", "kind(0fwd,1dgrad,2wgrad)", "bf16"});
}
BENCHMARK(BM_gemm)->Apply(shapes);

// The forward product with weights packed once (kernels/packed_matmul.h), the path inference
// takes; compare with BM_gemm kind 0 (oneDNN) at the same M, out, in, dtype.
// args: M, out, in, weight dtype (0 f32, 1 bf16, 2 int8 with per-row scales, 3 q4)
PackedMatrix packed_weights(int64_t out, int64_t in, int64_t kind) {
  auto w = rnd(size_t(out * in));
  if (kind == 0) return PackedMatrix::pack(w.data(), DType::F32, out, in, in);
  if (kind == 1) {
    auto wb = to_bf16(w);
    return PackedMatrix::pack(wb.data(), DType::BF16, out, in, in);
  }
  std::vector<int8_t> q(w.size());
  if (kind == 3) {
    std::vector<bf16_t> s(size_t(out * ((in + 31) / 32)), f32_to_bf16(1.0f / 7));
    for (size_t i = 0; i < q.size(); ++i) q[i] = int8_t(int(w[i] * 7) % 7);
    return PackedMatrix::pack_q4(q.data(), s.data(), out, in);
  }
  std::vector<float> s(size_t(out), 1.0f / 127);
  for (size_t i = 0; i < q.size(); ++i) q[i] = int8_t(int(w[i] * 127) % 127);
  return PackedMatrix::pack_int8(q.data(), s.data(), out, in, in);
}
void BM_gemm_packed(benchmark::State& st) {
  const int64_t T = st.range(0), out = st.range(1), in = st.range(2);
  auto x = rnd(size_t(T * in));
  std::vector<float> y(size_t(T * out));
  const PackedMatrix P = packed_weights(out, in, st.range(3));
  gemm_packed(T, x.data(), in, P, y.data(), out);
  for (auto _ : st) gemm_packed(T, x.data(), in, P, y.data(), out);
  st.counters["GFLOP/cpu-s"] = benchmark::Counter(2.0 * double(T) * double(out) * double(in),
                                                  benchmark::Counter::kIsIterationInvariantRate,
                                                  benchmark::Counter::kIs1000);
}
void packed_shapes(benchmark::internal::Benchmark* b) {
  const int64_t layers[][2] = {{1024, 1024}, {2816, 1024}, {1024, 2816}};  // {out, in}
  for (int64_t kind : {0, 1, 2})
    for (int64_t T : {32, 160, 512})
      for (auto& l : layers) b->Args({T, l[0], l[1], kind});
  b->ArgNames({"M", "out", "in", "dtype(0f32,1bf16,2int8)"});
}
BENCHMARK(BM_gemm_packed)->Apply(packed_shapes);

// LLaDA-8B's FFN input product (gate or up: [M, 4096] x [12288, 4096]ᵀ), bf16 against int8 and q4
// weights: M = 32 is a cached decoding step (reading the 100 / 50 / 28 MB of weights bounds it on a
// machine with many cores per memory channel), M = 256 a compute-bound forward.
void packed_8b_shapes(benchmark::internal::Benchmark* b) {
  for (int64_t kind : {1, 2, 3})
    for (int64_t T : {8, 32, 64, 256}) b->Args({T, 12288, 4096, kind});
  b->ArgNames({"M", "out", "in", "dtype(1bf16,2int8,3q4)"});
}
BENCHMARK(BM_gemm_packed)->Name("BM_gemm_packed_8b")->Apply(packed_8b_shapes)->UseRealTime();

// The int8 and q4 products on the CPU's SIMD kernels (AVX-512 VNNI, else AVX2) against the scalar
// code with the same arithmetic, in one run: what a CPU without VNNI gains from the AVX2 kernels.
void BM_gemm_packed_i8_kernel(benchmark::State& st) {
  const int64_t T = st.range(0), out = st.range(1), in = st.range(2), kind = st.range(4);
  set_packed_i8_vnni(st.range(3) != 0);
  st.SetLabel(std::string(kind == 3 ? "q4 " : "int8 ") + packed_i8_kernel());
  auto x = rnd(size_t(T * in));
  std::vector<float> y(size_t(T * out));
  const PackedMatrix P = packed_weights(out, in, kind);
  gemm_packed(T, x.data(), in, P, y.data(), out);
  for (auto _ : st) gemm_packed(T, x.data(), in, P, y.data(), out);
  set_packed_i8_vnni(true);
  st.counters["GFLOP/cpu-s"] = benchmark::Counter(2.0 * double(T) * double(out) * double(in),
                                                  benchmark::Counter::kIsIterationInvariantRate,
                                                  benchmark::Counter::kIs1000);
}
void i8_kernel_shapes(benchmark::internal::Benchmark* b) {
  const int64_t shapes[][3] = {{32, 1024, 1024}, {160, 2816, 1024}, {32, 12288, 4096}};  // {M, out, in}
  for (int64_t kind : {2, 3})
    for (auto& sh : shapes)
      for (int64_t simd : {1, 0}) b->Args({sh[0], sh[1], sh[2], simd, kind});
  b->ArgNames({"M", "out", "in", "simd", "dtype(2int8,3q4)"});
}
BENCHMARK(BM_gemm_packed_i8_kernel)->Apply(i8_kernel_shapes)->UseRealTime();

// The bf16 products of mixed-precision training (gemm_bf16: f32 operands rounded on the way in) on
// the experiment models' shapes, by engine in one run: ours (AMX where the CPU has it, else the
// vdpbf16ps kernel: kernels/cpu/gemm_bf16.h) against oneDNN's avx512_bf16 and oneDNN f32 (the
// baseline). args: M (tokens), out, in, kind, engine (0 f32 oneDNN, 1 bf16 ours, 2 bf16 oneDNN)
void BM_gemm_train(benchmark::State& st) {
  const int64_t T = st.range(0), out = st.range(1), in = st.range(2);
  const Kind kind = Kind(st.range(3));
  const int64_t engine = st.range(4);
  auto x = rnd(size_t(T * in)), w = rnd(size_t(out * in)), dy = rnd(size_t(T * out));
  std::vector<float> y(size_t(std::max(T * out, std::max(T * in, out * in))));
  if (engine == 2) setenv("LLADA_GEMM_BF16", "onednn", 1);
  if (engine == 1 && !packed_amx_active()) setenv("LLADA_GEMM_BF16", "dot", 1);
  auto product = engine == 0 ? &gemm : &gemm_bf16;
  auto call = [&] {
    switch (kind) {
      case kFwd:
        product(T, out, in, Operand{x.data(), DType::F32, in}, Operand{w.data(), DType::F32, in, true}, y.data(),
                out, 0.0f);
        break;
      case kDgrad:
        product(T, in, out, Operand{dy.data(), DType::F32, out}, Operand{w.data(), DType::F32, in}, y.data(), in,
                0.0f);
        break;
      case kWgrad:
        product(out, in, T, Operand{dy.data(), DType::F32, out, true}, Operand{x.data(), DType::F32, in},
                y.data(), in, 1.0f);
        break;
    }
  };
  call();
  for (auto _ : st) call();
  unsetenv("LLADA_GEMM_BF16");
  st.counters["GFLOP/cpu-s"] = benchmark::Counter(2.0 * double(T) * double(out) * double(in),
                                                  benchmark::Counter::kIsIterationInvariantRate,
                                                  benchmark::Counter::kIs1000);
}
void train_shapes(benchmark::internal::Benchmark* b) {
  // 6.4M model (d 256, ffn 704, vocab 6144) at 32 x 128 tokens; 25M (d 512, ffn 1152, vocab 8192)
  // at 4 x 512 (the head at half the rows: the masked ones).
  const int64_t cases[][3] = {{4096, 256, 256}, {4096, 768, 256}, {4096, 1408, 256}, {4096, 256, 704}, {2048, 6144, 256},
                              {2048, 1536, 512}, {2048, 2304, 512}, {2048, 512, 1152}, {1024, 8192, 512}};
  for (auto& c : cases)
    for (int64_t kind : {kFwd, kDgrad, kWgrad})
      for (int64_t engine : {0, 1, 2}) b->Args({c[0], c[1], c[2], kind, engine});
  b->ArgNames({"M", "out", "in", "kind(0fwd,1dgrad,2wgrad)", "engine(0f32,1ours,2onednn)"});
}
BENCHMARK(BM_gemm_train)->Apply(train_shapes)->UseRealTime();

// LLaDA-8B's LM head at a sampling-sized M: [M, 4096] x [126464, 4096]ᵀ in bf16.
void BM_gemm_lm_head_8b(benchmark::State& st) {
  const int64_t T = st.range(0), out = 126464, in = 4096;
  auto x = rnd(size_t(T * in));
  std::vector<bf16_t> wb(size_t(out * in), f32_to_bf16(0.01f));
  std::vector<float> y(size_t(T * out));
  for (auto _ : st)
    gemm(T, out, in, Operand{x.data(), DType::F32, in}, Operand{wb.data(), DType::BF16, in, true},
         y.data(), out);
  st.counters["GFLOP/cpu-s"] =
      benchmark::Counter(2.0 * double(T) * out * in, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(BM_gemm_lm_head_8b)->Arg(32)->Unit(benchmark::kMillisecond)->Iterations(3);

// Per-call overhead: a tiny product through our gemm vs the same oneDNN primitive executed
// directly with pre-built memory objects (the floor any wrapper can reach).
void BM_overhead_ours(benchmark::State& st) {
  const int64_t n = st.range(0);
  auto a = rnd(size_t(n * n)), b = rnd(size_t(n * n));
  std::vector<float> c(size_t(n * n));
  for (auto _ : st) {
    gemm(n, n, n, Operand{a.data(), DType::F32, n}, Operand{b.data(), DType::F32, n, true},
         c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
}
BENCHMARK(BM_overhead_ours)->Arg(8)->Arg(32);

void BM_overhead_raw_onednn(benchmark::State& st) {
  using dnnl::memory;
  const int64_t n = st.range(0);
  auto a = rnd(size_t(n * n)), b = rnd(size_t(n * n));
  std::vector<float> c(size_t(n * n));
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  memory::desc amd({n, n}, memory::data_type::f32, memory::dims{n, 1});
  memory::desc bmd({n, n}, memory::data_type::f32, memory::dims{1, n});
  memory::desc cmd({n, n}, memory::data_type::f32, memory::dims{n, 1});
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(amd, bmd, cmd), eng);
  dnnl::matmul prim(pd);
  memory am(amd, eng, a.data()), bm(bmd, eng, b.data()), cm(cmd, eng, c.data());
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
  for (auto _ : st) {
    prim.execute(s, args);
    s.wait();
    benchmark::DoNotOptimize(c.data());
  }
  st.SetLabel(pd.impl_info_str());
}
BENCHMARK(BM_overhead_raw_onednn)->Arg(8)->Arg(32);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("gemm_backend", gemm_backend_name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
