// Finite-difference checks of every backward, run on the fast ops in float.
// Each test defines L = sum(out * R) for a fixed random R (L accumulated in double) and compares
// the analytic gradient with the central difference (L(x+h) - L(x-h)) / 2h, h = 1e-2.
// Tolerance (written down because the forward is float): the truncation error is O(h^2 * L''')
// ~ 1e-4 for these O(1) smooth functions, and float rounding of L (|L| <~ 10, eps 6e-8) adds
// ~10 * 6e-8 / 1e-2 = 6e-5; we accept |fd - analytic| <= 2e-3 + 1e-2 * |analytic|. A wrong sign,
// a missing term or a wrong index gives errors of O(1) and fails.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "kernels/ops.h"
#include "test_util.h"

namespace llada::kernels {
namespace {

using test::randn;

void check_grad(const char* what, std::vector<float>& x, const std::vector<float>& analytic,
                const std::function<double()>& loss, size_t max_checks = 200) {
  ASSERT_EQ(x.size(), analytic.size());
  const float h = 1e-2f;
  const size_t stride = x.size() > max_checks ? x.size() / max_checks : 1;
  int checked = 0;
  for (size_t i = 0; i < x.size(); i += stride) {
    const float x0 = x[i];
    x[i] = x0 + h;
    const double lp = loss();
    x[i] = x0 - h;
    const double lm = loss();
    x[i] = x0;
    const double fd = (lp - lm) / (2.0 * double(h));
    ASSERT_NEAR(fd, analytic[i], 2e-3 + 1e-2 * std::fabs(analytic[i])) << what << " index " << i;
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

TEST(Grad, RmsNorm) {
  const int64_t N = 3, C = 17;
  auto x = randn(N * C, 1), w = randn(C, 2), R = randn(N * C, 3);
  std::vector<float> out(N * C), rstd(N);
  auto loss = [&] {
    rmsnorm_forward(out.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f);
    return dot(out, R);
  };
  loss();
  std::vector<float> dx(N * C, 0.0f), dw(C, 0.0f);
  rmsnorm_backward(dx.data(), dw.data(), R.data(), x.data(), w.data(), rstd.data(), N, C);
  check_grad("rmsnorm dx", x, dx, loss);
  check_grad("rmsnorm dw", w, dw, loss);
}

TEST(Grad, Rope) {
  const int64_t N = 4, H = 2, hd = 8, T = 10;
  std::vector<float> cs(T * hd / 2), sn(cs.size());
  rope_tables(cs.data(), sn.data(), T, hd, 10000.0);
  std::vector<int32_t> pos = {0, 3, 9, 5};
  auto x = randn(N * H * hd, 4), R = randn(N * H * hd, 5);
  std::vector<float> y;
  auto loss = [&] {
    y = x;
    rope_forward(y.data(), pos.data(), cs.data(), sn.data(), N, H, hd);
    return dot(y, R);
  };
  auto dx = R;
  rope_backward(dx.data(), pos.data(), cs.data(), sn.data(), N, H, hd);
  check_grad("rope dx", x, dx, loss);
}

TEST(Grad, SwiGlu) {
  const int64_t n = 50;
  auto g = randn(n, 6, 2.0f), u = randn(n, 7), R = randn(n, 8);
  std::vector<float> out(n), dg(n), du(n);
  auto loss = [&] {
    swiglu_forward(out.data(), g.data(), u.data(), n);
    return dot(out, R);
  };
  swiglu_backward(dg.data(), du.data(), R.data(), g.data(), u.data(), n);
  check_grad("swiglu dgate", g, dg, loss);
  check_grad("swiglu dup", u, du, loss);
}

TEST(Grad, Embedding) {
  const int64_t V = 5, C = 6, N = 7;
  auto w = randn(V * C, 9), R = randn(N * C, 10);
  std::vector<int32_t> ids = {0, 3, 3, 1, 4, 0, 3};
  std::vector<float> out(N * C);
  auto loss = [&] {
    embedding_forward(out.data(), ids.data(), w.data(), DType::F32, N, C);
    return dot(out, R);
  };
  std::vector<float> dw(V * C, 0.0f);
  embedding_backward(dw.data(), R.data(), ids.data(), N, C);
  for (int64_t c = 0; c < C; ++c) EXPECT_EQ(dw[2 * C + c], 0.0f);  // id 2 never used
  check_grad("embedding dwte", w, dw, loss);
}

TEST(Grad, CrossEntropy) {
  const int64_t n = 3, V = 11;
  auto z = randn(n * V, 11, 2.0f);
  std::vector<int32_t> t = {0, 10, 4};
  std::vector<float> w = {1.0f, 0.5f, 2.0f};
  auto loss = [&] {
    return cross_entropy_forward_backward(nullptr, nullptr, z.data(), t.data(), w.data(), n, V);
  };
  std::vector<float> dz(n * V);
  cross_entropy_forward_backward(dz.data(), nullptr, z.data(), t.data(), w.data(), n, V);
  check_grad("cross-entropy dlogits", z, dz, loss);
}

// GQA (4 query heads on 2 kv heads), two batches, padding keys, and causal with a query offset.
void attention_grad(bool causal, bool mask) {
  AttnShape s{};
  s.B = 2;
  s.Tq = 3;
  s.Tk = 5;
  s.H = 4;
  s.KVH = 2;
  s.hd = 4;
  s.q_bs = s.Tq * s.H * s.hd;
  s.kv_bs = s.Tk * s.KVH * s.hd;
  s.causal = causal;
  s.q_pos0 = causal ? 1 : 0;
  std::vector<uint8_t> km = {1, 1, 0, 1, 1, 1, 0, 1, 1, 0};
  const uint8_t* mp = mask ? km.data() : nullptr;
  auto q = randn(s.B * s.q_bs, 12), k = randn(s.B * s.kv_bs, 13), v = randn(s.B * s.kv_bs, 14);
  auto R = randn(s.B * s.q_bs, 15);
  std::vector<float> out(q.size()), probs(s.B * s.H * s.Tq * s.Tk);
  std::vector<float> scratch(attention_scratch_floats(s));
  auto loss = [&] {
    attention_forward(out.data(), probs.data(), q.data(), k.data(), v.data(), mp, s,
                      scratch.data());
    return dot(out, R);
  };
  loss();
  std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
  attention_backward(dq.data(), dk.data(), dv.data(), R.data(), probs.data(), q.data(), k.data(),
                     v.data(), s, scratch.data());
  const std::string tag = std::string(causal ? " causal" : "") + (mask ? " mask" : "");
  check_grad(("attention dq" + tag).c_str(), q, dq, loss);
  check_grad(("attention dk" + tag).c_str(), k, dk, loss);
  check_grad(("attention dv" + tag).c_str(), v, dv, loss);
  if (mask) {  // a padding key gets no gradient
    for (int64_t d = 0; d < s.KVH * s.hd; ++d) {
      EXPECT_EQ(dk[2 * s.KVH * s.hd + d], 0.0f);
      EXPECT_EQ(dv[2 * s.KVH * s.hd + d], 0.0f);
    }
  }
}

TEST(Grad, Attention) { attention_grad(false, false); }
TEST(Grad, AttentionMaskCausal) { attention_grad(true, true); }
TEST(Grad, AttentionMask) { attention_grad(false, true); }

}  // namespace
}  // namespace llada::kernels
