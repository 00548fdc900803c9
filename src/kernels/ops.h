// The model's ops, each a forward/backward pair in the same argument order (llm.c style).
// Activations are f32, row-major. "N" is a number of rows (B*T tokens), "C" a row width.
// Backward functions ACCUMULATE into weight gradients (+=) and OVERWRITE input gradients unless
// stated otherwise. Every op has a scalar reference in kernels/ref/ that the fast version in
// kernels/cpu/ is tested against (tests/kernels/).
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace llada::kernels {

// ---- embedding ------------------------------------------------------------------------------
// out[N,C] = wte[ids[i], :] (wte stored f32 or bf16, [V,C]). ids must be in [0,V) (checked by caller).
void embedding_forward(float* out, const int32_t* ids, const void* wte, DType wte_dtype, int64_t N,
                       int64_t C);
// dwte[ids[i], :] += dout[i, :]   (dwte f32 [V,C])
void embedding_backward(float* dwte, const float* dout, const int32_t* ids, int64_t N, int64_t C);

// ---- RMSNorm --------------------------------------------------------------------------------
// out = x * rsqrt(mean(x^2) + eps) * w; rstd[N] saved for backward (may be null in inference).
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int64_t N, int64_t C,
                     float eps);
// dx += ..., dw += ...  (dx ACCUMULATES: it is the residual stream's gradient)
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t N, int64_t C);

// ---- RoPE (rotate-half / NeoX) --------------------------------------------------------------
// Tables for positions [0, T): cos/sin [T, hd/2] (the two halves share angles).
void rope_tables(float* cos, float* sin, int64_t T, int64_t hd, double theta);
// In place on x[N rows][n_heads*hd] where row r has position pos[r]:
//   x1' = x1*cos - x2*sin,  x2' = x2*cos + x1*sin   (x1, x2 = first and second half of a head)
void rope_forward(float* x, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                  int64_t n_heads, int64_t hd);
// In place: the inverse rotation (the gradient of a rotation is its transpose).
void rope_backward(float* dx, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                   int64_t n_heads, int64_t hd);

// ---- attention ------------------------------------------------------------------------------
// Scaled dot-product attention with grouped-query heads (query head h reads kv head h/(H/KVH)).
//   q   [B][Tq][H*hd]    at q + b*q_bs   + t*H*hd   + h*hd
//   k,v [B][Tk][KVH*hd]  at k + b*kv_bs  + s*KVH*hd + g*hd
//   out [B][Tq][H*hd]    same layout as q (batch stride q_bs)
// key_mask [B][Tk] (1 = attend, 0 = padding key) or null. causal: query t (absolute position
// q_pos0 + t) sees keys s <= q_pos0 + t. A query row that sees no key outputs zeros.
// probs [B][H][Tq][Tk] receives the softmax (for backward) or may be null.
struct AttnShape {
  int64_t B, Tq, Tk, H, KVH, hd;
  int64_t q_bs, kv_bs;  // batch strides in floats
  int64_t q_pos0 = 0;   // absolute position of query row 0 (causal masking with a cache)
  bool causal = false;
  // The score and value products (and the backward's four) with bf16-rounded inputs and f32
  // accumulation (kernels::gemm_bf16): mixed-precision training. Softmax stays f32.
  bool bf16_products = false;
};
// scratch: at least attention_scratch_floats(s) floats (per-thread score rows), caller-owned.
int64_t attention_scratch_floats(const AttnShape& s);
void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const uint8_t* key_mask, const AttnShape& s, float* scratch);
// Gradients OVERWRITE dq, dk, dv (same layouts as q, k, v). Needs probs from the forward.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* probs,
                        const float* q, const float* k, const float* v, const AttnShape& s,
                        float* scratch);

// ---- SwiGLU ---------------------------------------------------------------------------------
// out = silu(gate) * up, elementwise over n
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);
// dgate, dup OVERWRITTEN
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n);

// ---- residual add ---------------------------------------------------------------------------
void add_inplace(float* x, const float* y, int64_t n);  // x += y

// ---- softmax cross-entropy over chosen rows -------------------------------------------------
// logits [n, V] (rows already restricted to the chosen positions). For row i:
//   loss_i = weight[i] * (logsumexp(logits_i) - logits_i[target[i]])
// Returns sum_i loss_i (double accumulation). If dlogits is not null, writes
//   dlogits_i = weight[i] * (softmax(logits_i) - onehot(target[i]))   (dlogits may alias logits).
// losses (optional, [n]) receives the unweighted per-row CE.
double cross_entropy_forward_backward(float* dlogits, float* losses, const float* logits,
                                      const int32_t* targets, const float* weights, int64_t n,
                                      int64_t V);

// ---- scalar references (kernels/ref/): identical contracts, plain loops ---------------------
namespace ref {
void embedding_forward(float* out, const int32_t* ids, const void* wte, DType wte_dtype, int64_t N,
                       int64_t C);
void embedding_backward(float* dwte, const float* dout, const int32_t* ids, int64_t N, int64_t C);
void rmsnorm_forward(float* out, float* rstd, const float* x, const float* w, int64_t N, int64_t C,
                     float eps);
void rmsnorm_backward(float* dx, float* dw, const float* dout, const float* x, const float* w,
                      const float* rstd, int64_t N, int64_t C);
void rope_forward(float* x, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                  int64_t n_heads, int64_t hd);
void rope_backward(float* dx, const int32_t* pos, const float* cos, const float* sin, int64_t N,
                   int64_t n_heads, int64_t hd);
void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const uint8_t* key_mask, const AttnShape& s);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* probs,
                        const float* q, const float* k, const float* v, const AttnShape& s);
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up,
                     int64_t n);
double cross_entropy_forward_backward(float* dlogits, float* losses, const float* logits,
                                      const int32_t* targets, const float* weights, int64_t n,
                                      int64_t V);
}  // namespace ref

// ---- copies (the model layer moves activations only through these) -----------------------------
// dst[0..n) = src[0..n) (f32).
void copy(float* dst, const float* src, int64_t n);
// dst[0..n) = 0 (f32).
void zero(float* dst, int64_t n);
// dst[i, :] = src[rows[i], :] for i < n, rows of C floats.
void gather_rows(float* dst, const float* src, const int32_t* rows, int64_t n, int64_t C);
// dst[b, :n] = src[b, :n] for b < batches, with their own batch strides (a block of rows into a
// larger buffer: K/V into the cache).
void copy_strided(float* dst, int64_t dst_stride, const float* src, int64_t src_stride, int64_t batches,
                  int64_t n);
// dst[0..n) = bf16(src[0..n)), rounded to nearest even as f32_to_bf16 (core/dtype.h), except that
// denormal inputs may become zero (the avx512_bf16 convert): the one rounded copy of a product
// operand that mixed-precision training reads more than once.
void round_to_bf16(bf16_t* dst, const float* src, int64_t n);

// ---- row statistics (the sampler's softmax over a vocabulary) ---------------------------------
// max(x[0..n)), -inf for n = 0.
float row_max(const float* x, int64_t n);
// sum_v exp(l_v - mx) and, if wsum, sum_v exp(l_v - mx) * (l_v - mx), in float64, over v < n;
// -inf logits contribute 0; mx >= every l_v.
void row_exp_sums_f64(const float* l, int64_t n, float mx, double* sum, double* wsum);

}  // namespace llada::kernels
