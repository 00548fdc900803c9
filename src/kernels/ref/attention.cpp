// Scaled dot-product attention with GQA, key padding and causal masks: the spec, plain loops.
// Backward, per query row with p = softmax(scale * q·k):
//   dv_s += p_s dout;  dp_s = dout·v_s;  ds_s = p_s (dp_s - sum_j p_j dp_j);
//   dq = scale sum_s ds_s k_s;  dk_s += scale ds_s q.
#include <cmath>
#include <vector>

#include "kernels/ops.h"

namespace llada::kernels::ref {
namespace {

bool visible(const AttnShape& s, const uint8_t* key_mask, int64_t b, int64_t t, int64_t j) {
  if (key_mask && !key_mask[b * s.Tk + j]) return false;
  if (s.causal && j > s.q_pos0 + t) return false;
  return true;
}

}  // namespace

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const uint8_t* key_mask, const AttnShape& s) {
  const int64_t hd = s.hd, group = s.H / s.KVH;
  const float scale = 1.0f / std::sqrt(float(hd));
  std::vector<float> p(size_t(s.Tk));
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h) {
      const int64_t g = h / group;
      for (int64_t t = 0; t < s.Tq; ++t) {
        const float* qr = q + b * s.q_bs + (t * s.H + h) * hd;
        float mx = -INFINITY;
        for (int64_t j = 0; j < s.Tk; ++j) {
          p[j] = -INFINITY;
          if (!visible(s, key_mask, b, t, j)) continue;
          const float* kr = k + b * s.kv_bs + (j * s.KVH + g) * hd;
          float dot = 0.0f;
          for (int64_t d = 0; d < hd; ++d) dot += qr[d] * kr[d];
          p[j] = dot * scale;
          mx = p[j] > mx ? p[j] : mx;
        }
        double sum = 0.0;
        for (int64_t j = 0; j < s.Tk; ++j) {
          p[j] = mx == -INFINITY ? 0.0f : std::exp(p[j] - mx);
          sum += p[j];
        }
        const float inv = sum > 0.0 ? float(1.0 / sum) : 0.0f;
        float* o = out + b * s.q_bs + (t * s.H + h) * hd;
        for (int64_t d = 0; d < hd; ++d) o[d] = 0.0f;
        for (int64_t j = 0; j < s.Tk; ++j) {
          p[j] *= inv;
          const float* vr = v + b * s.kv_bs + (j * s.KVH + g) * hd;
          for (int64_t d = 0; d < hd; ++d) o[d] += p[j] * vr[d];
        }
        if (probs) {
          float* pr = probs + ((b * s.H + h) * s.Tq + t) * s.Tk;
          for (int64_t j = 0; j < s.Tk; ++j) pr[j] = p[j];
        }
      }
    }
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* probs,
                        const float* q, const float* k, const float* v, const AttnShape& s) {
  const int64_t hd = s.hd, group = s.H / s.KVH;
  const float scale = 1.0f / std::sqrt(float(hd));
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t t = 0; t < s.Tq; ++t)
      for (int64_t c = 0; c < s.H * hd; ++c) dq[b * s.q_bs + t * s.H * hd + c] = 0.0f;
    for (int64_t j = 0; j < s.Tk; ++j)
      for (int64_t c = 0; c < s.KVH * hd; ++c) {
        dk[b * s.kv_bs + j * s.KVH * hd + c] = 0.0f;
        dv[b * s.kv_bs + j * s.KVH * hd + c] = 0.0f;
      }
  }
  std::vector<float> dp(size_t(s.Tk));
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h) {
      const int64_t g = h / group;
      for (int64_t t = 0; t < s.Tq; ++t) {
        const float* p = probs + ((b * s.H + h) * s.Tq + t) * s.Tk;
        const float* go = dout + b * s.q_bs + (t * s.H + h) * hd;
        const float* qr = q + b * s.q_bs + (t * s.H + h) * hd;
        float* dqr = dq + b * s.q_bs + (t * s.H + h) * hd;
        double pdp = 0.0;
        for (int64_t j = 0; j < s.Tk; ++j) {
          const float* vr = v + b * s.kv_bs + (j * s.KVH + g) * hd;
          float* dvr = dv + b * s.kv_bs + (j * s.KVH + g) * hd;
          float acc = 0.0f;
          for (int64_t d = 0; d < hd; ++d) {
            acc += go[d] * vr[d];
            dvr[d] += p[j] * go[d];
          }
          dp[j] = acc;
          pdp += double(p[j]) * acc;
        }
        for (int64_t j = 0; j < s.Tk; ++j) {
          const float ds = p[j] * (dp[j] - float(pdp)) * scale;
          const float* kr = k + b * s.kv_bs + (j * s.KVH + g) * hd;
          float* dkr = dk + b * s.kv_bs + (j * s.KVH + g) * hd;
          for (int64_t d = 0; d < hd; ++d) {
            dqr[d] += ds * kr[d];
            dkr[d] += ds * qr[d];
          }
        }
      }
    }
}

}  // namespace llada::kernels::ref
