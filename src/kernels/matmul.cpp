// gemm on oneDNN (v2 API). Every distinct (shape, strides, dtypes, beta) gets one primitive plus
// its memory objects and argument map, created on first use and cached per thread: a steady-state
// call is one hash lookup, three set_data_handle calls and execute(), with no allocation.
// The cache is thread_local because dnnl::memory objects (whose handles we rebind) must not be
// shared between concurrently executing threads; gemm may be called from inside an OpenMP
// region (attention does), where oneDNN runs the primitive on the calling thread.
#include "kernels/matmul.h"

#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/error.h"
#include "core/sys.h"
#include "kernels/cpu/bf16_convert.h"
#include "kernels/cpu/gemm_bf16.h"

namespace llada::kernels {
namespace {

using dnnl::memory;

constexpr size_t kMaxCacheEntries = 4096;

struct Key {
  int64_t M, N, K, lda, ldb, ldc;
  uint32_t beta_bits;
  uint8_t ta, tb, bf16;
  int32_t nthr;  // threads the primitive was created for (1 inside an OpenMP region)
  bool operator==(const Key& o) const {
    return nthr == o.nthr && M == o.M && N == o.N && K == o.K && lda == o.lda && ldb == o.ldb &&
           ldc == o.ldc && beta_bits == o.beta_bits && ta == o.ta && tb == o.tb && bf16 == o.bf16;
  }
};

struct KeyHash {
  size_t operator()(const Key& k) const {
    uint64_t h = 1469598103934665603ull;
    auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
    mix(uint64_t(k.M));
    mix(uint64_t(k.N));
    mix(uint64_t(k.K));
    mix(uint64_t(k.lda));
    mix(uint64_t(k.ldb));
    mix(uint64_t(k.ldc));
    mix(k.beta_bits);
    mix(uint64_t(k.ta) | uint64_t(k.tb) << 8 | uint64_t(k.bf16) << 16 | uint64_t(k.nthr) << 24);
    return size_t(h);
  }
};

struct Entry {
  dnnl::matmul prim;
  bool sums_depend_on_threads = false;  // not oneDNN's brgemm (see gemm_tiles)
  memory a, b, c;
  std::unordered_map<int, memory> args;
};

dnnl::engine& engine() {
  // Before the first primitive: oneDNN 2.6.3's AMX bf16 kernels (picked on Sapphire Rapids and
  // later) die with SIGILL on some shapes when two threads run them (seen: M=65, N=1, K=63), so
  // oneDNN is held to the AVX-512 bf16 kernels it uses on every other AVX-512 CPU. Permission for
  // AMX is still asked for (core/sys.h), for our own kernels and in case a dependency uses it.
  static const bool capped = [] {
    enable_amx();
    return dnnl::set_max_cpu_isa(dnnl::cpu_isa::avx512_core_bf16) == dnnl::status::success;
  }();
  (void)capped;
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

struct ThreadState {
  dnnl::stream stream{engine()};
  std::unordered_map<Key, std::unique_ptr<Entry>, KeyHash> cache;
  Key last_key{};
  Entry* last = nullptr;
  std::vector<bf16_t> scratch_a, scratch_b;  // grow-only bf16 copies of f32 operands
  std::vector<float> widened_a, widened_b;   // grow-only bf16-valued f32 copies (no oneDNN bf16)
};

ThreadState& state() {
  thread_local ThreadState st;
  return st;
}

// Strides of op(X)[rows, cols] stored row-major with leading dimension ld.
memory::dims op_strides(int64_t ld, bool trans) {
  return trans ? memory::dims{1, ld} : memory::dims{ld, 1};
}

std::unique_ptr<Entry> make_entry(const Key& k) {
  const auto dt = k.bf16 ? memory::data_type::bf16 : memory::data_type::f32;
  memory::desc a_md({k.M, k.K}, dt, op_strides(k.lda, k.ta));
  memory::desc b_md({k.K, k.N}, dt, op_strides(k.ldb, k.tb));
  memory::desc c_md({k.M, k.N}, memory::data_type::f32, memory::dims{k.ldc, 1});
  dnnl::primitive_attr attr;
  float beta;
  std::memcpy(&beta, &k.beta_bits, 4);
  if (beta != 0.0f) {
    dnnl::post_ops po;
    po.append_sum(beta);
    attr.set_post_ops(po);
  }
  dnnl::matmul::desc d(a_md, b_md, c_md);
  dnnl::matmul::primitive_desc pd(d, attr, engine());
  // oneDNN silently falls back to its reference kernel (100x slower) for layouts its fast kernels
  // reject, e.g. a transposed C; all layouts gemm produces map to brgemm or jit gemm (checked for
  // every transpose/padding/dtype/beta combination), so say loudly if that ever changes.
  const std::string impl = pd.impl_info_str();
  if (impl.rfind("ref", 0) == 0)
    std::fprintf(stderr,
                 "llada warning: gemm M=%lld N=%lld K=%lld ta=%d tb=%d uses oneDNN's slow %s\n",
                 (long long)k.M, (long long)k.N, (long long)k.K, k.ta, k.tb, impl.c_str());
  auto e = std::make_unique<Entry>();
  e->prim = dnnl::matmul(pd);
  e->sums_depend_on_threads = impl.rfind("brg", 0) != 0;
  e->a = memory(a_md, engine(), DNNL_MEMORY_NONE);
  e->b = memory(b_md, engine(), DNNL_MEMORY_NONE);
  e->c = memory(c_md, engine(), DNNL_MEMORY_NONE);
  e->args = {{DNNL_ARG_SRC, e->a}, {DNNL_ARG_WEIGHTS, e->b}, {DNNL_ARG_DST, e->c}};
  return e;
}

// oneDNN 2.6 multiplies bf16 only on AVX-512 CPUs (avx512_core and later); on others creating the
// primitive throws. There a bf16 product is an f32 product of the bf16-rounded operands: a product
// of two bf16 values is exact in f32 and the sums accumulate in f32, so the result is a bf16
// kernel's up to summation order, at the f32 speed.
bool dnnl_multiplies_bf16() {
  static const bool ok = [] {
    try {
      memory::desc ab({2, 2}, memory::data_type::bf16, memory::dims{2, 1});
      memory::desc c({2, 2}, memory::data_type::f32, memory::dims{2, 1});
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(ab, ab, c), engine());
      return pd.impl_info_str() != nullptr;
    } catch (const dnnl::error&) {
      return false;
    }
  }();
  return ok;
}

// A compact f32 copy of op(X) (stored rows x cols, leading dimension ld) holding bf16 values: f32
// operands rounded to bf16, bf16 ones widened.
Operand to_bf16_valued_f32(const Operand& x, int64_t rows, int64_t cols, std::vector<float>& buf) {
  const size_t need = size_t(rows * cols);
  if (buf.size() < need) buf.resize(need);
  float* dst = buf.data();
  const bool par = need >= (1u << 16) && !omp_in_parallel();
  if (x.dtype == DType::BF16) {
    const bf16_t* src = static_cast<const bf16_t*>(x.data);
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) dst[r * cols + c] = bf16_to_f32(src[r * x.ld + c]);
  } else {
    const float* src = static_cast<const float*>(x.data);
#pragma omp parallel for schedule(static) if (par)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        dst[r * cols + c] = bf16_to_f32(f32_to_bf16(src[r * x.ld + c]));
  }
  return Operand{dst, DType::F32, cols, x.trans};
}

// Rounds op(X) (stored rows x cols, leading dimension ld) to a compact bf16 copy; returns the
// operand that describes the copy.
Operand to_bf16(const Operand& x, int64_t rows, int64_t cols, std::vector<bf16_t>& buf) {
  const size_t need = size_t(rows * cols);
  if (buf.size() < need) buf.resize(need);
  const float* src = static_cast<const float*>(x.data);
  bf16_t* dst = buf.data();
  const bool par = need >= (1u << 16) && !omp_in_parallel();
#pragma omp parallel for schedule(static) if (par)
  for (int64_t r = 0; r < rows; ++r) cpu::f32_to_bf16_row(dst + r * cols, src + r * x.ld, cols);
  return Operand{dst, DType::BF16, cols, x.trans};
}

void scale_c(int64_t M, int64_t N, float* C, int64_t ldc, float beta) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

void check_operand(const Operand& x, const char* name, int64_t rows, int64_t cols) {
  // rows x cols is op(X); the stored matrix is transposed when trans is set.
  const int64_t stored_cols = x.trans ? rows : cols;
  LLADA_CHECK(x.dtype == DType::F32 || x.dtype == DType::BF16,
              "gemm: operand %s has dtype %s, expected F32 or BF16", name, dtype_name(x.dtype));
  LLADA_CHECK(x.ld >= stored_cols && x.ld >= 1,
              "gemm: operand %s leading dimension %lld < stored columns %lld", name,
              (long long)x.ld, (long long)stored_cols);
  LLADA_CHECK(x.data != nullptr, "gemm: operand %s is null", name);
}

}  // namespace

namespace {

Key make_key(int64_t M, int64_t N, int64_t K, const Operand& a, const Operand& b, int64_t ldc,
             float beta, bool bf16, int nthr) {
  Key key{M, N, K, a.ld, b.ld, ldc, 0, uint8_t(a.trans), uint8_t(b.trans), uint8_t(bf16), nthr};
  std::memcpy(&key.beta_bits, &beta, 4);
  if (beta == 0.0f) key.beta_bits = 0;  // -0.0f is the same request
  return key;
}

Entry& entry_for(ThreadState& st, const Key& key) {
  if (st.last && st.last_key == key) return *st.last;
  auto it = st.cache.find(key);
  if (it == st.cache.end()) {
    // Bound the cache for callers whose shapes never repeat (e.g. a growing KV cache): dropping
    // everything is crude, but steady-state loops use far fewer shapes than this.
    if (st.cache.size() >= kMaxCacheEntries) st.cache.clear();
    it = st.cache.emplace(key, make_entry(key)).first;
  }
  st.last = it->second.get();
  st.last_key = key;
  return *st.last;
}

void execute(ThreadState& st, Entry& e, const void* a, const void* b, float* C) {
  e.a.set_data_handle(const_cast<void*>(a));
  e.b.set_data_handle(const_cast<void*>(b));
  e.c.set_data_handle(C);
  e.prim.execute(st.stream, e.args);
  st.stream.wait();
}

// oneDNN's jit gemm (its f32 kernel on CPUs without AVX-512) sums in a different order on
// different thread counts for some shapes, so a product would change in its last bits with the
// thread count, and `llada eval` must not. Instead every thread computes whole tiles of C
// single-threaded: the tiles depend on the shape only, so each element is summed the same way on
// any number of threads (one included).
void gemm_tiles(int64_t M, int64_t N, int64_t K, const Operand& a, const Operand& b, float* C,
                int64_t ldc, float beta, bool bf16) {
  constexpr int64_t kTile = 128;
  const int64_t tiles_m = (M + kTile - 1) / kTile, tiles_n = (N + kTile - 1) / kTile;
  const size_t a_elem = dtype_size(a.dtype), b_elem = dtype_size(b.dtype);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < tiles_m * tiles_n; ++t) {
    const int64_t i0 = t / tiles_n * kTile, j0 = t % tiles_n * kTile;
    const int64_t m = std::min(kTile, M - i0), n = std::min(kTile, N - j0);
    Operand at = a, bt = b;  // rows i0.. of op(A), columns j0.. of op(B)
    at.data = static_cast<const char*>(a.data) + size_t(a.trans ? i0 : i0 * a.ld) * a_elem;
    bt.data = static_cast<const char*>(b.data) + size_t(b.trans ? j0 * b.ld : j0) * b_elem;
    ThreadState& ts = state();
    execute(ts, entry_for(ts, make_key(m, n, K, at, bt, ldc, beta, bf16, 1)), at.data, bt.data,
            C + i0 * ldc + j0);
  }
}

void gemm_impl(int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B, float* C,
               int64_t ldc, float beta, bool bf16) {
  LLADA_CHECK(M >= 0 && N >= 0 && K >= 0, "gemm: negative shape M=%lld N=%lld K=%lld", (long long)M,
              (long long)N, (long long)K);
  if (M == 0 || N == 0) return;
  LLADA_CHECK(ldc >= N, "gemm: ldc %lld < N %lld", (long long)ldc, (long long)N);
  if (K == 0) return scale_c(M, N, C, ldc, beta);
  check_operand(A, "A", M, K);
  check_operand(B, "B", K, N);

  if (bf16) {
    const cpu::Bf16Engine own = cpu::bf16_engine();
    if (own != cpu::Bf16Engine::None) return cpu::bf16_gemm(own, M, N, K, A, B, C, ldc, beta);
  }

  ThreadState& st = state();
  Operand a = A, b = B;
  if (bf16 && !dnnl_multiplies_bf16()) {
    a = to_bf16_valued_f32(A, A.trans ? K : M, A.trans ? M : K, st.widened_a);
    b = to_bf16_valued_f32(B, B.trans ? N : K, B.trans ? K : N, st.widened_b);
    bf16 = false;
  }
  if (bf16) {
    if (a.dtype == DType::F32) a = to_bf16(A, A.trans ? K : M, A.trans ? M : K, st.scratch_a);
    if (b.dtype == DType::F32) b = to_bf16(B, B.trans ? N : K, B.trans ? K : N, st.scratch_b);
  }
  const Key key =
      make_key(M, N, K, a, b, ldc, beta, bf16, omp_in_parallel() ? 1 : omp_get_max_threads());
  Entry& e = entry_for(st, key);
  if (!omp_in_parallel() && e.sums_depend_on_threads)
    return gemm_tiles(M, N, K, a, b, C, ldc, beta, bf16);
  execute(st, e, a.data, b.data, C);
}

}  // namespace

void gemm(int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B, float* C,
          int64_t ldc, float beta) {
  gemm_impl(M, N, K, A, B, C, ldc, beta, A.dtype == DType::BF16 || B.dtype == DType::BF16);
}

void gemm_bf16(int64_t M, int64_t N, int64_t K, const Operand& A, const Operand& B, float* C,
               int64_t ldc, float beta) {
  gemm_impl(M, N, K, A, B, C, ldc, beta, true);
}

bool bf16_products_native() {
  return cpu::bf16_engine() != cpu::Bf16Engine::None || dnnl_multiplies_bf16();
}

const char* gemm_backend_name() {
  static const std::string name = [] {
    const dnnl_version_t* v = dnnl::version();
    const char* rt = v->cpu_runtime == DNNL_RUNTIME_OMP   ? "omp"
                     : v->cpu_runtime == DNNL_RUNTIME_TBB ? "tbb"
                     : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "seq"
                                                          : "other";
    return strformat("onednn %d.%d.%d (cpu runtime %s)", v->major, v->minor, v->patch, rt);
  }();
  return name.c_str();
}

}  // namespace llada::kernels
