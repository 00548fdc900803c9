// The backward pass: gradients of a weighted cross-entropy over chosen rows with respect to every
// weight, layer by layer in reverse, reading the activations the forward saved.

#include "core/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/activations.h"

namespace llada {

namespace {

// For y = x · Wᵀ (W stored [out, in]):  dx (+)= dy · W  and  dW += dyᵀ · x, with bf16 products
// when the forward had them (ForwardArgs::matmul_dtype).
void linear_backward(float* dx, float dx_beta, float* dW, const float* dy, const float* x,
                     const Tensor& W, int64_t N, DType products) {
  const int64_t out = W.shape[0], in = W.shape[1];
  const auto gemm = products == DType::BF16 ? kernels::gemm_bf16 : kernels::gemm;
  if (dx)
    gemm(N, in, out, {dy, DType::F32, out, false}, {W.data, W.dtype, in, false}, dx, in, dx_beta);
  gemm(out, in, N, {dy, DType::F32, out, true}, {x, DType::F32, in, false}, dW, in, 1.0f);
}

// The same in bf16 training, on the operands the forward rounded (xb, wb): dy is rounded once,
// into dyb, for both products.
void linear_backward_bf16(float* dx, float dx_beta, float* dW, const float* dy, const bf16_t* xb,
                          const bf16_t* wb, int64_t N, int64_t out, int64_t in, bf16_t* dyb) {
  kernels::round_to_bf16(dyb, dy, N * out);
  if (dx)
    kernels::gemm_bf16(N, in, out, {dyb, DType::BF16, out, false}, {wb, DType::BF16, in, false}, dx, in, dx_beta);
  kernels::gemm_bf16(out, in, N, {dyb, DType::BF16, out, true}, {xb, DType::BF16, in, false}, dW, in, 1.0f);
}

void check_grads(const Weights& w, Weights& g) {
  std::vector<const Tensor*> a, b;
  w.for_each([&](const Tensor& t) { a.push_back(&t); });
  g.for_each([&](const Tensor& t) { b.push_back(&t); });
  LLADA_CHECK(a.size() == b.size(), "gradient buffers do not match the model (%zu vs %zu tensors)",
              b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i)
    LLADA_CHECK(a[i]->shape == b[i]->shape && b[i]->dtype == DType::F32 && b[i]->data,
                "gradient %s must be F32 %s", a[i]->name.c_str(), a[i]->shape_str().c_str());
}

}  // namespace

double model_forward_backward(const Model& m, const ForwardArgs& a, const int32_t* targets,
                              const float* weights, Weights& grads, Workspace& ws) {
  LLADA_CHECK(a.cache == nullptr, "model_forward_backward: a KV cache cannot be used in training");
  LLADA_CHECK(a.rows != nullptr && a.n_rows > 0, "model_forward_backward: no target rows");
  detail::validate_args(m, a);
  check_grads(m.w, grads);
  const ModelConfig& c = m.cfg;
  const Weights& w = m.w;
  for (int64_t i = 0; i < a.n_rows; ++i)
    LLADA_CHECK(targets[i] >= 0 && targets[i] < c.embedding_size,
                "target id %d (row %lld) is outside the vocabulary [0, %lld)", targets[i],
                (long long)i, (long long)c.embedding_size);

  // Forward with every activation saved (the backward's scratch is carved in the same pass).
  detail::Acts& acts = detail::carve_activations(m, a, ws, /*training=*/true);
  const float* logits = detail::run_forward(m, a, ws, acts);
  (void)logits;

  const int64_t B = a.B, T = a.T, N = B * T, C = c.d_model, KV = c.kv_dim(), F = c.mlp_hidden_size;
  const int64_t H = c.n_heads, KVH = c.n_kv_heads, hd = c.head_dim(), R = a.n_rows;
  const int64_t Ve = c.embedding_size;

  // Loss and dlogits (in place over the logits).
  double loss = kernels::cross_entropy_forward_backward(acts.logits, nullptr, acts.logits, targets,
                                                        weights, R, Ve);

  const detail::Grads& d = acts.grad;
  float *dres = d.dres, *dn = d.dn, *dnr = d.dnr, *datt = d.datt, *dq = d.dq, *dk = d.dk, *dv = d.dv;
  float *dgate = d.dgate, *dup = d.dup, *dact = d.dact;

  // One product's backward: through the forward's bf16 copies in bf16 training (xb, wb), else on
  // the f32 operands.
  const bool bf = acts.head_bf != nullptr;
  auto backward = [&](float* dx, float dx_beta, Tensor& dW, const float* dy, const float* x,
                      const bf16_t* xb, const Tensor& W, const bf16_t* wb, int64_t rows) {
    if (bf) linear_backward_bf16(dx, dx_beta, dW.f32(), dy, xb, wb, rows, W.shape[0], W.shape[1], d.dy);
    else linear_backward(dx, dx_beta, dW.f32(), dy, x, W, rows, a.matmul_dtype);
  };

  // Head: logits = nf_rows · Whᵀ.
  Tensor& dhead = grads.head.empty() ? grads.wte : grads.head;
  backward(dnr, 0.0f, dhead, acts.logits, acts.nf_rows, acts.nf_rows_bf, w.lm_head(), acts.head_bf, R);
  kernels::zero(dn, N * C);
  for (int64_t i = 0; i < R; ++i) {
    float* dst = dn + int64_t(a.rows[i]) * C;
    const float* src = dnr + i * C;
    for (int64_t j = 0; j < C; ++j) dst[j] += src[j];  // rows may repeat
  }
  kernels::zero(dres, N * C);
  kernels::rmsnorm_backward(dres, grads.ln_f.f32(), dn, acts.x_final, w.ln_f.f32(), acts.rstd_f, N, C);

  kernels::AttnShape s{B, T, T, H, KVH, hd, T * C, T * KV, a.pos0, a.causal,
                       a.matmul_dtype == DType::BF16};
  for (int64_t l = c.n_layers - 1; l >= 0; --l) {
    const LayerWeights& lw = w.layers[size_t(l)];
    LayerWeights& lg = grads.layers[size_t(l)];
    const detail::LayerActs& L = acts.layers[size_t(l)];
    // x' = h + ff_out(act)
    const detail::LayerBf16& b = L.bf;
    backward(dact, 0.0f, lg.ff_out, dres, L.act, b.act, lw.ff_out, b.ff_out, N);
    kernels::swiglu_backward(dgate, dup, dact, L.gate, L.up, N * F);
    backward(dn, 0.0f, lg.ff_proj, dgate, L.n2, b.n2, lw.ff_proj, b.ff_proj, N);
    backward(dn, 1.0f, lg.up_proj, dup, L.n2, b.n2, lw.up_proj, b.up_proj, N);
    kernels::rmsnorm_backward(dres, lg.ff_norm.f32(), dn, L.h, lw.ff_norm.f32(), L.rstd2, N, C);
    // h = x + attn_out(att)
    backward(datt, 0.0f, lg.attn_out, dres, L.att, b.att, lw.attn_out, b.attn_out, N);
    kernels::attention_backward(dq, dk, dv, datt, L.probs, L.q, L.k, L.v, s, acts.attn_scratch);
    kernels::rope_backward(dq, acts.pos, ws.rope_cos.data(), ws.rope_sin.data(), N, H, hd);
    kernels::rope_backward(dk, acts.pos, ws.rope_cos.data(), ws.rope_sin.data(), N, KVH, hd);
    backward(dn, 0.0f, lg.q_proj, dq, L.n1, b.n1, lw.q_proj, b.q_proj, N);
    backward(dn, 1.0f, lg.k_proj, dk, L.n1, b.n1, lw.k_proj, b.k_proj, N);
    backward(dn, 1.0f, lg.v_proj, dv, L.n1, b.n1, lw.v_proj, b.v_proj, N);
    kernels::rmsnorm_backward(dres, lg.attn_norm.f32(), dn, L.x, lw.attn_norm.f32(), L.rstd1, N, C);
  }
  kernels::embedding_backward(grads.wte.f32(), dres, a.ids, N, C);
  return loss;
}

}  // namespace llada
