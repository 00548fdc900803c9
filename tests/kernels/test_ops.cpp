// Every fast op against its scalar reference in kernels/ref/, at many sizes (odd ones included)
// and with inputs that start at misaligned addresses (offsets of 0..3 floats).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "core/error.h"
#include "kernels/ops.h"
#include "test_util.h"

namespace llada::kernels {
namespace {

using test::max_abs_diff;
using test::max_rel_excess;
using test::randn;

const int64_t kSizes[] = {1, 3, 7, 17, 63, 65, 130};
const int kOffsets[] = {0, 1, 3};

// A copy of v placed `off` floats into a fresh buffer, so the op sees a misaligned pointer.
struct Shifted {
  std::vector<float> buf;
  int off;
  Shifted(const std::vector<float>& v, int off_) : buf(v.size() + 4), off(off_) {
    std::copy(v.begin(), v.end(), buf.begin() + off);
  }
  float* p() { return buf.data() + off; }
  std::vector<float> vec(size_t n) const { return {buf.begin() + off, buf.begin() + off + n}; }
};

// The rounding copy of mixed-precision training equals the scalar f32_to_bf16 bit for bit: ties to
// even, infinities, NaNs kept NaN, at odd lengths, misaligned, and past the parallel threshold.
// Denormal inputs (|x| < 1.2e-38) may become a zero of the same sign: the avx512_bf16 convert
// instruction treats them as zero (no product of training is changed by values that small).
TEST(Ops, RoundToBf16EqualsScalarRounding) {
  std::vector<float> special = {0.0f, -0.0f, 1.0f, 1.00390625f /* tie: rounds down to even */,
                                1.01171875f /* tie: rounds up to even */, INFINITY, -INFINITY, NAN,
                                -NAN, 1e-40f, -3.4e38f, 3.4028235e38f};
  for (int64_t n : {int64_t(1), int64_t(12), int64_t(17), int64_t(130), int64_t(40000), int64_t(100003)}) {
    for (int off : kOffsets) {
      std::vector<float> x = randn(size_t(n), uint64_t(n + off));
      for (size_t i = 0; i < special.size() && i < x.size(); ++i) x[i * 7 % x.size()] = special[i];
      Shifted in(x, off);
      std::vector<bf16_t> got(size_t(n) + 1, 0xdead);
      round_to_bf16(got.data(), in.p(), n);
      for (int64_t i = 0; i < n; ++i) {
        const bf16_t want = f32_to_bf16(x[size_t(i)]);
        if (std::isnan(x[size_t(i)])) {
          ASSERT_TRUE(std::isnan(bf16_to_f32(got[size_t(i)]))) << "n=" << n << " i=" << i;
        } else if (x[size_t(i)] != 0.0f && std::fabs(x[size_t(i)]) < 1.17549435e-38f) {
          const bf16_t signed_zero = std::signbit(x[size_t(i)]) ? 0x8000 : 0x0000;
          ASSERT_TRUE(got[size_t(i)] == want || got[size_t(i)] == signed_zero) << "n=" << n << " i=" << i;
        } else {
          ASSERT_EQ(got[size_t(i)], want) << "n=" << n << " i=" << i << " x=" << x[size_t(i)];
        }
      }
      EXPECT_EQ(got[size_t(n)], 0xdead) << "wrote past n=" << n;
    }
  }
}

TEST(Ops, Embedding) {
  for (int64_t C : kSizes)
    for (int64_t N : {1, 5, 40})
      for (DType dt : {DType::F32, DType::BF16, DType::F16}) {
        const int64_t V = 11;
        auto w = randn(size_t(V * C), 1);
        std::vector<uint16_t> w16(w.size());
        for (size_t i = 0; i < w.size(); ++i)
          w16[i] = dt == DType::BF16 ? f32_to_bf16(w[i]) : f32_to_f16(w[i]);
        const void* wp = dt == DType::F32 ? (const void*)w.data() : (const void*)w16.data();
        std::vector<int32_t> ids(static_cast<size_t>(N));
        for (int64_t i = 0; i < N; ++i) ids[i] = int32_t((i * 7 + 3) % V);  // repeats when N > V
        std::vector<float> a(size_t(N * C)), b(size_t(N * C));
        embedding_forward(a.data(), ids.data(), wp, dt, N, C);
        ref::embedding_forward(b.data(), ids.data(), wp, dt, N, C);
        ASSERT_EQ(a, b) << "C=" << C << " N=" << N;
        auto g = randn(size_t(N * C), 2);
        auto d0 = randn(size_t(V * C), 3);
        auto d1 = d0;
        embedding_backward(d0.data(), g.data(), ids.data(), N, C);
        ref::embedding_backward(d1.data(), g.data(), ids.data(), N, C);
        ASSERT_LE(max_abs_diff(d0.data(), d1.data(), d0.size()), 1e-5) << "C=" << C << " N=" << N;
      }
}

TEST(Ops, RmsNorm) {
  for (int64_t C : kSizes)
    for (int64_t N : {1, 3, 33})
      for (int off : kOffsets) {
        const size_t n = size_t(N * C);
        Shifted x(randn(n, 4, 2.0f), off), w(randn(size_t(C), 5), off), g(randn(n, 6), off);
        std::vector<float> o1(n), o2(n), r1(N), r2(N);
        rmsnorm_forward(o1.data(), r1.data(), x.p(), w.p(), N, C, 1e-5f);
        ref::rmsnorm_forward(o2.data(), r2.data(), x.p(), w.p(), N, C, 1e-5f);
        ASSERT_LE(max_rel_excess(o1.data(), o2.data(), n, 1e-6, 1e-6), 1.0) << C << " " << N;
        ASSERT_LE(max_rel_excess(r1.data(), r2.data(), N, 0, 1e-6), 1.0);
        auto dx0 = randn(n, 7);  // dx accumulates
        auto dx1 = dx0, dx2 = dx0;
        auto dw0 = randn(size_t(C), 8);
        auto dw1 = dw0, dw2 = dw0;
        rmsnorm_backward(dx1.data(), dw1.data(), g.p(), x.p(), w.p(), r1.data(), N, C);
        ref::rmsnorm_backward(dx2.data(), dw2.data(), g.p(), x.p(), w.p(), r1.data(), N, C);
        ASSERT_LE(max_rel_excess(dx1.data(), dx2.data(), n, 1e-5, 1e-5), 1.0) << C << " " << N;
        ASSERT_LE(max_rel_excess(dw1.data(), dw2.data(), size_t(C), 1e-5, 1e-5), 1.0);
      }
}

TEST(Ops, RopeMatchesReferenceAndInverts) {
  for (int64_t hd : {2, 6, 16, 64, 128})
    for (int64_t heads : {1, 3})
      for (int off : kOffsets) {
        const int64_t T = 40, N = 17;
        std::vector<float> cs(size_t(T * hd / 2)), sn(cs.size());
        rope_tables(cs.data(), sn.data(), T, hd, 10000.0);
        std::vector<int32_t> pos(N);
        for (int64_t i = 0; i < N; ++i) pos[i] = int32_t((i * 5) % T);
        const size_t n = size_t(N * heads * hd);
        auto x0 = randn(n, 9);
        Shifted a(x0, off);
        auto b = x0;
        rope_forward(a.p(), pos.data(), cs.data(), sn.data(), N, heads, hd);
        ref::rope_forward(b.data(), pos.data(), cs.data(), sn.data(), N, heads, hd);
        ASSERT_LE(max_abs_diff(a.p(), b.data(), n), 1e-6) << hd;
        rope_backward(a.p(), pos.data(), cs.data(), sn.data(), N, heads, hd);
        ref::rope_backward(b.data(), pos.data(), cs.data(), sn.data(), N, heads, hd);
        ASSERT_LE(max_abs_diff(a.p(), b.data(), n), 1e-6) << hd;
        // The backward is the inverse rotation: forward then backward restores x.
        ASSERT_LE(max_abs_diff(a.p(), x0.data(), n), 1e-5) << hd;
      }
}

TEST(Ops, RopeTables) {
  const int64_t T = 4096, hd = 128;
  const double theta = 500000.0;
  std::vector<float> cs(size_t(T * hd / 2)), sn(cs.size());
  rope_tables(cs.data(), sn.data(), T, hd, theta);
  for (int64_t i = 0; i < hd / 2; ++i) {
    EXPECT_EQ(cs[i], 1.0f);
    EXPECT_EQ(sn[i], 0.0f);
  }
  for (int64_t t : {1, 7, 100, 4095})
    for (int64_t i : {0, 1, 13, 63}) {
      // The float32 recipe, written out independently: e = 2i/hd, inv = 1/theta^e, a = t*inv.
      const float e = float(2 * i) / float(hd);
      const float inv = 1.0f / float(std::pow(500000.0, double(e)));
      const float a = float(t) * inv;
      EXPECT_EQ(cs[t * hd / 2 + i], float(std::cos(double(a)))) << t << " " << i;
      EXPECT_EQ(sn[t * hd / 2 + i], float(std::sin(double(a)))) << t << " " << i;
      // ... and within float32 angle rounding of the exact double-precision angle.
      const double exact = double(t) * std::pow(theta, -2.0 * double(i) / double(hd));
      EXPECT_NEAR(cs[t * hd / 2 + i], std::cos(exact), 1e-3);
    }
}

TEST(Ops, SwiGluAndAdd) {
  for (int64_t n : {1, 3, 7, 17, 63, 65, 1000, 70001})
    for (int off : kOffsets) {
      Shifted g(randn(size_t(n), 10, 3.0f), off), u(randn(size_t(n), 11), off),
          d(randn(size_t(n), 12), off);
      std::vector<float> o1(n), o2(n), dg1(n), dg2(n), du1(n), du2(n);
      swiglu_forward(o1.data(), g.p(), u.p(), n);
      ref::swiglu_forward(o2.data(), g.p(), u.p(), n);
      ASSERT_LE(max_rel_excess(o1.data(), o2.data(), n, 1e-6, 1e-5), 1.0) << n;
      swiglu_backward(dg1.data(), du1.data(), d.p(), g.p(), u.p(), n);
      ref::swiglu_backward(dg2.data(), du2.data(), d.p(), g.p(), u.p(), n);
      ASSERT_LE(max_rel_excess(dg1.data(), dg2.data(), n, 1e-6, 1e-5), 1.0) << n;
      ASSERT_LE(max_rel_excess(du1.data(), du2.data(), n, 1e-6, 1e-5), 1.0) << n;
      auto x = g.vec(size_t(n));
      add_inplace(x.data(), u.p(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(x[i], g.p()[i] + u.p()[i]);
    }
}

TEST(Ops, SwiGluExtremes) {
  // exp_fast must saturate cleanly: silu(-100) = -0, silu(100) = 100, never NaN.
  std::vector<float> g = {-1000.0f, -100.0f, -88.0f, 0.0f, 88.0f, 100.0f, 1000.0f},
                     u(g.size(), 1.0f);
  std::vector<float> o(g.size()), o2(g.size());
  swiglu_forward(o.data(), g.data(), u.data(), int64_t(g.size()));
  ref::swiglu_forward(o2.data(), g.data(), u.data(), int64_t(g.size()));
  for (size_t i = 0; i < g.size(); ++i)
    EXPECT_NEAR(o[i], o2[i], 1e-5 * std::fabs(o2[i]) + 1e-30) << g[i];
}

TEST(Ops, CrossEntropy) {
  for (int64_t V : {1, 3, 7, 65, 1000, 5003})
    for (int64_t n : {1, 3, 17}) {
      auto z = randn(size_t(n * V), 13, 4.0f);
      std::vector<int32_t> t(n);
      std::vector<float> w(n);
      for (int64_t i = 0; i < n; ++i) {
        t[i] = int32_t((i * 31 + 7) % V);
        w[i] = 0.5f + float(i);
      }
      std::vector<float> d1(z.size()), d2(z.size()), l1(n), l2(n);
      const double a =
          cross_entropy_forward_backward(d1.data(), l1.data(), z.data(), t.data(), w.data(), n, V);
      const double b = ref::cross_entropy_forward_backward(d2.data(), l2.data(), z.data(), t.data(),
                                                           w.data(), n, V);
      EXPECT_NEAR(a, b, 1e-5 * std::fabs(b) + 1e-5) << V << " " << n;
      ASSERT_LE(max_rel_excess(l1.data(), l2.data(), n, 1e-5, 1e-5), 1.0);
      ASSERT_LE(max_abs_diff(d1.data(), d2.data(), z.size()), 4e-6 * (n + 1)) << V << " " << n;
      // In place (dlogits aliases logits) and without weights/losses.
      auto zz = z;
      const double c =
          cross_entropy_forward_backward(zz.data(), nullptr, zz.data(), t.data(), nullptr, n, V);
      std::vector<float> d3(z.size());
      const double e = ref::cross_entropy_forward_backward(d3.data(), nullptr, z.data(), t.data(),
                                                           nullptr, n, V);
      EXPECT_NEAR(c, e, 1e-5 * std::fabs(e) + 1e-5);
      // Probabilities from the fast exp (<= 1.4 ulp) normalised by a float sum over V terms whose
      // order depends on the vectoriser: a few ulp of 1, so 4e-6 absolute (seen: 1.5e-6 at -O2).
      ASSERT_LE(max_abs_diff(zz.data(), d3.data(), z.size()), 4e-6);
    }
}

TEST(Ops, CrossEntropyLargeVocabAndLargeLogits) {
  // LLaDA-8B vocabulary, logits far from 0: the max subtraction keeps it finite.
  const int64_t V = 126464, n = 2;
  auto z = randn(size_t(n * V), 14, 3.0f);
  for (auto& v : z) v += 1000.0f;
  std::vector<int32_t> t = {5, 126463};
  std::vector<float> d1(z.size()), d2(z.size());
  const double a =
      cross_entropy_forward_backward(d1.data(), nullptr, z.data(), t.data(), nullptr, n, V);
  const double b =
      ref::cross_entropy_forward_backward(d2.data(), nullptr, z.data(), t.data(), nullptr, n, V);
  ASSERT_TRUE(std::isfinite(a));
  EXPECT_NEAR(a, b, 1e-5 * std::fabs(b));
  EXPECT_LE(max_abs_diff(d1.data(), d2.data(), z.size()), 1e-6);
}

// ---- attention ---------------------------------------------------------------------------------

struct AttnCase {
  AttnShape s;
  bool mask;
};

void check_attention(const AttnCase& c, uint64_t seed) {
  const AttnShape& s = c.s;
  const size_t nq = size_t(s.B * s.q_bs), nkv = size_t(s.B * s.kv_bs);
  auto q = randn(nq, seed, 1.5f), k = randn(nkv, seed + 1, 1.5f), v = randn(nkv, seed + 2);
  std::vector<uint8_t> mask(size_t(s.B * s.Tk), 1);
  if (c.mask) {
    for (int64_t b = 0; b < s.B; ++b)
      for (int64_t j = 0; j < s.Tk; ++j) mask[b * s.Tk + j] = (j * 7 + b * 3) % 5 != 0;
    for (int64_t j = 0; j < s.Tk; ++j) mask[(s.B - 1) * s.Tk + j] = 0;  // one batch sees nothing
  }
  const uint8_t* mp = c.mask ? mask.data() : nullptr;
  const size_t np = size_t(s.B * s.H * s.Tq * s.Tk);
  // Sentinel-filled outputs: every element the op owns must be written.
  std::vector<float> o1(nq, 7.0f), o2(nq, 7.0f), p1(np, 7.0f), p2(np, 7.0f), o3(nq, 7.0f);
  std::vector<float> scratch(size_t(attention_scratch_floats(s)));
  attention_forward(o1.data(), p1.data(), q.data(), k.data(), v.data(), mp, s, scratch.data());
  attention_forward(o3.data(), nullptr, q.data(), k.data(), v.data(), mp, s, scratch.data());
  ref::attention_forward(o2.data(), p2.data(), q.data(), k.data(), v.data(), mp, s);
  const std::string what =
      strformat("B=%lld Tq=%lld Tk=%lld H=%lld KVH=%lld hd=%lld causal=%d pos0=%lld mask=%d",
                (long long)s.B, (long long)s.Tq, (long long)s.Tk, (long long)s.H, (long long)s.KVH,
                (long long)s.hd, s.causal, (long long)s.q_pos0, c.mask);
  ASSERT_LE(max_abs_diff(o1.data(), o2.data(), nq), 2e-5) << what;
  ASSERT_LE(max_abs_diff(o3.data(), o2.data(), nq), 2e-5) << what;
  ASSERT_LE(max_abs_diff(p1.data(), p2.data(), np), 2e-6) << what;

  auto g = randn(nq, seed + 3);
  std::vector<float> dq1(nq, 7.0f), dk1(nkv, 7.0f), dv1(nkv, 7.0f), dq2(nq, 7.0f), dk2(nkv, 7.0f),
      dv2(nkv, 7.0f);
  attention_backward(dq1.data(), dk1.data(), dv1.data(), g.data(), p2.data(), q.data(), k.data(),
                     v.data(), s, scratch.data());
  ref::attention_backward(dq2.data(), dk2.data(), dv2.data(), g.data(), p2.data(), q.data(),
                          k.data(), v.data(), s);
  ASSERT_LE(max_abs_diff(dq1.data(), dq2.data(), nq), 5e-5) << what;
  ASSERT_LE(max_abs_diff(dk1.data(), dk2.data(), nkv), 5e-5) << what;
  ASSERT_LE(max_abs_diff(dv1.data(), dv2.data(), nkv), 5e-5) << what;
}

TEST(Ops, AttentionMatchesReference) {
  uint64_t seed = 100;
  const int64_t hds[] = {5, 64};
  const int64_t heads[][2] = {{2, 2}, {4, 2}, {4, 1}};
  const int64_t lens[][2] = {{1, 1}, {3, 7}, {17, 17}, {65, 63}, {70, 130}};
  for (int64_t hd : hds)
    for (auto& hk : heads)
      for (auto& tt : lens)
        for (int mode = 0; mode < 4; ++mode) {
          AttnShape s{};
          s.B = 2;
          s.Tq = tt[0];
          s.Tk = tt[1];
          s.H = hk[0];
          s.KVH = hk[1];
          s.hd = hd;
          s.q_bs = s.Tq * s.H * hd + (mode & 1 ? 3 : 0);  // padded batch strides in odd modes
          s.kv_bs = s.Tk * s.KVH * hd + (mode & 1 ? 5 : 0);
          s.causal = mode >= 2;
          s.q_pos0 = s.causal ? s.Tk - s.Tq : 0;  // queries are the last Tq positions (KV cache)
          check_attention({s, mode == 1 || mode == 3}, seed++);
        }
}

TEST(Ops, AttentionCausalOffsets) {
  // q_pos0 before the keys (rows that see nothing), inside, and past the end.
  uint64_t seed = 900;
  for (int64_t pos0 : {-3, 0, 2, 9, 40})
    for (int64_t Tq : {1, 5, 70}) {
      AttnShape s{};
      s.B = 1;
      s.Tq = Tq;
      s.Tk = 9;
      s.H = 2;
      s.KVH = 1;
      s.hd = 8;
      s.q_bs = Tq * 2 * 8;
      s.kv_bs = 9 * 8;
      s.q_pos0 = pos0;
      s.causal = true;
      check_attention({s, pos0 == 2}, seed++);
    }
}

TEST(Ops, AttentionFullyMaskedRowIsZero) {
  AttnShape s{};
  s.B = 1;
  s.Tq = 2;
  s.Tk = 3;
  s.H = 1;
  s.KVH = 1;
  s.hd = 4;
  s.q_bs = 8;
  s.kv_bs = 12;
  auto q = randn(8, 1), k = randn(12, 2), v = randn(12, 3);
  std::vector<uint8_t> mask = {0, 0, 0};
  std::vector<float> out(8, 5.0f), probs(6, 5.0f), scratch(size_t(attention_scratch_floats(s)));
  attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), mask.data(), s,
                    scratch.data());
  for (float x : out) EXPECT_EQ(x, 0.0f);
  for (float x : probs) EXPECT_EQ(x, 0.0f);
}

}  // namespace
}  // namespace llada::kernels
