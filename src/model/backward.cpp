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

  // Head: logits = nf_rows · Whᵀ.
  Tensor& dhead = grads.head.empty() ? grads.wte : grads.head;
  linear_backward(dnr, 0.0f, dhead.f32(), acts.logits, acts.nf_rows, w.lm_head(), R, a.matmul_dtype);
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
    linear_backward(dact, 0.0f, lg.ff_out.f32(), dres, L.act, lw.ff_out, N, a.matmul_dtype);
    kernels::swiglu_backward(dgate, dup, dact, L.gate, L.up, N * F);
    linear_backward(dn, 0.0f, lg.ff_proj.f32(), dgate, L.n2, lw.ff_proj, N, a.matmul_dtype);
    linear_backward(dn, 1.0f, lg.up_proj.f32(), dup, L.n2, lw.up_proj, N, a.matmul_dtype);
    kernels::rmsnorm_backward(dres, lg.ff_norm.f32(), dn, L.h, lw.ff_norm.f32(), L.rstd2, N, C);
    // h = x + attn_out(att)
    linear_backward(datt, 0.0f, lg.attn_out.f32(), dres, L.att, lw.attn_out, N, a.matmul_dtype);
    kernels::attention_backward(dq, dk, dv, datt, L.probs, L.q, L.k, L.v, s, acts.attn_scratch);
    kernels::rope_backward(dq, acts.pos, ws.rope_cos.data(), ws.rope_sin.data(), N, H, hd);
    kernels::rope_backward(dk, acts.pos, ws.rope_cos.data(), ws.rope_sin.data(), N, KVH, hd);
    linear_backward(dn, 0.0f, lg.q_proj.f32(), dq, L.n1, lw.q_proj, N, a.matmul_dtype);
    linear_backward(dn, 1.0f, lg.k_proj.f32(), dk, L.n1, lw.k_proj, N, a.matmul_dtype);
    linear_backward(dn, 1.0f, lg.v_proj.f32(), dv, L.n1, lw.v_proj, N, a.matmul_dtype);
    kernels::rmsnorm_backward(dres, lg.attn_norm.f32(), dn, L.x, lw.attn_norm.f32(), L.rstd1, N, C);
  }
  kernels::embedding_backward(grads.wte.f32(), dres, a.ids, N, C);
  return loss;
}

}  // namespace llada
