// The mask predictor's forward pass (spec section 1), op by op through kernels/.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "model/activations.h"

namespace llada {
namespace detail {

namespace {

// Linear layer y[N,out] = beta*y + x[N,in] · Wᵀ with W stored [out, in] in its own dtype; through
// the packed copy of W when the model has one (inference), else the general gemm (in bf16 when
// the call asks for bf16 products: ForwardArgs::matmul_dtype).
void linear(float* y, const float* x, const Tensor& W, const kernels::PackedMatrix* packed,
            int64_t N, DType products, float beta = 0.0f) {
  const int64_t out = W.shape[0], in = W.shape[1];
  if (packed) return kernels::gemm_packed(N, x, in, *packed, y, out, beta);
  const kernels::Operand X{x, DType::F32, in, false}, Wt{W.data, W.dtype, in, true};
  if (products == DType::BF16) return kernels::gemm_bf16(N, out, in, X, Wt, y, out, beta);
  kernels::gemm(N, out, in, X, Wt, y, out, beta);
}

// Training's bf16 product y = beta*y + xb · Wbᵀ on operands the forward already rounded.
void linear_bf16(float* y, const bf16_t* xb, const bf16_t* wb, int64_t N, int64_t out, int64_t in,
                 float beta = 0.0f) {
  kernels::gemm_bf16(N, out, in, {xb, DType::BF16, in, false}, {wb, DType::BF16, in, true}, y, out, beta);
}

template <typename Take>
void layout(const Model& m, const ForwardArgs& a, bool training, Acts& acts, Take&& take) {
  const ModelConfig& c = m.cfg;
  const int64_t N = a.B * a.T, C = c.d_model, KV = c.kv_dim(), F = c.mlp_hidden_size;
  const int64_t Tk = a.cache ? a.cache->T : a.T;
  acts.N = N;
  acts.Tk = Tk;
  acts.R = a.rows ? a.n_rows : N;
  acts.layers.resize(size_t(c.n_layers));
  kernels::AttnShape s{a.B, a.T, Tk, c.n_heads, c.n_kv_heads, c.head_dim(), a.T * C, Tk * KV,
                       a.pos0, a.causal, a.matmul_dtype == DType::BF16};
  const bool bf = training && a.matmul_dtype == DType::BF16;  // LayerBf16's rounded copies
  auto take_bf16 = [&](int64_t n) { return bf ? reinterpret_cast<bf16_t*>(take((n + 1) / 2)) : nullptr; };
  for (int64_t l = 0; l < c.n_layers; ++l) {
    LayerActs& L = acts.layers[size_t(l)];
    if (l > 0 && !training) {  // inference: every layer reuses layer 0's buffers
      L = acts.layers[0];
      continue;
    }
    L.x = take(N * C);
    L.n1 = take(N * C);
    L.rstd1 = take(N);
    L.q = take(N * C);
    L.k = take(N * KV);
    L.v = take(N * KV);
    L.probs = training ? take(a.B * c.n_heads * a.T * Tk) : nullptr;
    L.att = take(N * C);
    L.h = training ? take(N * C) : L.x;  // inference adds in place into the residual
    L.n2 = take(N * C);
    L.rstd2 = take(N);
    L.gate = take(N * F);
    L.up = take(N * F);
    L.act = take(N * F);
    const LayerWeights& lw = m.w.layers[size_t(l)];
    L.bf = LayerBf16{take_bf16(N * C), take_bf16(N * C), take_bf16(N * C), take_bf16(N * F),
                     take_bf16(lw.q_proj.numel()), take_bf16(lw.k_proj.numel()), take_bf16(lw.v_proj.numel()),
                     take_bf16(lw.attn_out.numel()), take_bf16(lw.ff_proj.numel()), take_bf16(lw.up_proj.numel()),
                     take_bf16(lw.ff_out.numel())};
  }
  acts.x_final = training ? take(N * C) : acts.layers[0].x;
  acts.rstd_f = take(N);
  acts.nf = take(N * C);
  acts.nf_rows = a.rows ? take(acts.R * C) : acts.nf;
  acts.logits = take(acts.R * c.embedding_size);
  acts.pos = reinterpret_cast<int32_t*>(take(N));
  acts.row_pos = training ? nullptr : reinterpret_cast<int32_t*>(take(N));
  acts.attn_scratch = take(kernels::attention_scratch_floats(s));
  acts.nf_rows_bf = take_bf16(acts.R * C);
  acts.head_bf = take_bf16(m.w.lm_head().numel());
  if (training) {
    Grads& g = acts.grad;
    g.dres = take(N * C);
    g.dn = take(N * C);
    g.dnr = take(acts.R * C);
    g.datt = take(N * C);
    g.dq = take(N * C);
    g.dk = take(N * KV);
    g.dv = take(N * KV);
    g.dgate = take(N * F);
    g.dup = take(N * F);
    g.dact = take(N * F);
    g.dy = take_bf16(std::max({acts.R * c.embedding_size, N * F, N * C}));
  }
}

void ensure_rope_tables(const ModelConfig& c, int64_t len, Workspace& ws) {
  const int64_t hd = c.head_dim();
  if (ws.rope_len >= len && ws.rope_hd == hd && ws.rope_theta == c.rope_theta) return;
  int64_t n = std::max<int64_t>(len, ws.rope_hd == hd && ws.rope_theta == c.rope_theta ? ws.rope_len * 2 : 0);
  ws.rope_cos.resize(size_t(n * hd / 2));
  ws.rope_sin.resize(size_t(n * hd / 2));
  kernels::rope_tables(ws.rope_cos.data(), ws.rope_sin.data(), n, hd, c.rope_theta);
  ws.rope_len = n;
  ws.rope_hd = hd;
  ws.rope_theta = c.rope_theta;
}

}  // namespace

void validate_args(const Model& m, const ForwardArgs& a) {
  const ModelConfig& c = m.cfg;
  LLADA_CHECK(a.B > 0 && a.T > 0, "model forward: empty batch (B=%lld, T=%lld)", (long long)a.B,
              (long long)a.T);
  LLADA_CHECK(a.ids != nullptr, "model forward: no input ids");
  LLADA_CHECK(a.pos0 >= 0, "model forward: negative start position %lld", (long long)a.pos0);
  LLADA_CHECK(c.quantization.empty() || m.packed,
              "model forward: %s weights run only packed (call Model::pack_for_inference first)",
              c.quantization.c_str());
  const int64_t N = a.B * a.T;
  for (int64_t i = 0; i < N; ++i)
    LLADA_CHECK(a.ids[i] >= 0 && a.ids[i] < c.embedding_size,
                "token id %d (sequence %lld, position %lld) is outside the vocabulary [0, %lld)",
                a.ids[i], (long long)(i / a.T), (long long)(i % a.T), (long long)c.embedding_size);
  if (a.cache) {
    LLADA_CHECK(a.cache->B == a.B, "KV cache holds %lld sequences, batch has %lld",
                (long long)a.cache->B, (long long)a.B);
    LLADA_CHECK(a.pos0 + a.T <= a.cache->T, "KV cache of %lld positions cannot take [%lld, %lld)",
                (long long)a.cache->T, (long long)a.pos0, (long long)(a.pos0 + a.T));
    LLADA_CHECK(int64_t(a.cache->k.size()) == c.n_layers, "KV cache was not allocated for this model");
  }
  if (a.rows) {
    for (int64_t i = 0; i < a.n_rows; ++i)
      LLADA_CHECK(a.rows[i] >= 0 && a.rows[i] < N, "logit row %d outside [0, %lld)", a.rows[i],
                  (long long)N);
  }
}

Acts& carve_activations(const Model& m, const ForwardArgs& a, Workspace& ws, bool training) {
  if (!ws.impl) ws.impl = std::make_shared<Acts>();
  Acts& acts = *static_cast<Acts*>(ws.impl.get());  // reused: its layer table is allocated once
  acts.training = training;
  // Training sizes the arena for every row reaching the head: the masked rows' count changes each
  // step, and growing the arena on each new maximum re-faults all of it (a page fault per 4 KB of
  // activations, seconds on a large step), so the first step reserves the most it can need.
  ForwardArgs sizing = a;
  if (training && a.rows) sizing.n_rows = std::max<int64_t>(a.n_rows, a.B * a.T);
  size_t bytes = 0;
  layout(m, sizing, training, acts, [&](int64_t n) -> float* {
    bytes += (size_t(n) * 4 + 63) / 64 * 64;
    return nullptr;
  });
  ws.arena.reset();
  ws.arena.reserve(bytes);
  layout(m, a, training, acts, [&](int64_t n) { return ws.arena.alloc<float>(size_t(n)); });
  return acts;
}

namespace {

// K/V of this call's positions into the cache slots [pos0, pos0+T) of layer l; returns the K and
// V to attend over (the cache, or the call's own when there is none).
std::pair<const float*, const float*> store_kv(const ForwardArgs& a, const LayerActs& L, int64_t l,
                                               int64_t KV, int64_t Tk) {
  if (!a.cache) return {L.k, L.v};
  float* ck = a.cache->k[size_t(l)].f32();
  float* cv = a.cache->v[size_t(l)].f32();
  kernels::copy_strided(ck + a.pos0 * KV, Tk * KV, L.k, a.T * KV, a.B, a.T * KV);
  kernels::copy_strided(cv + a.pos0 * KV, Tk * KV, L.v, a.T * KV, a.B, a.T * KV);
  return {ck, cv};
}

// One transformer layer. Without a row selection every position goes through and the output is
// the next layer's input. With one (inference, last layer: only the wanted rows reach the head),
// keys and values are still computed for every position, but the queries, the attention output
// and the FFN run on the selected rows alone; the output is their residual stream (in acts.nf).
// Row by row the arithmetic is the same either way, so the logits are too.
const float* layer_forward(const Model& m, const ForwardArgs& a, Workspace& ws, Acts& acts, int64_t l,
                           const int32_t* sel) {
  const ModelConfig& c = m.cfg;
  const LayerWeights& lw = m.w.layers[size_t(l)];
  // The packed twins (all or none: pack_for_inference packs every product weight).
  const kernels::PackedMatrix *pq = m.packed_of(lw.q_proj), *pk = m.packed_of(lw.k_proj),
                              *pv = m.packed_of(lw.v_proj), *po = m.packed_of(lw.attn_out),
                              *pgate = m.packed_of(lw.ff_proj), *pup = m.packed_of(lw.up_proj),
                              *pdown = m.packed_of(lw.ff_out);
  LayerActs& L = acts.layers[size_t(l)];
  const int64_t N = a.B * a.T, C = c.d_model, KV = c.kv_dim(), F = c.mlp_hidden_size;
  const int64_t H = c.n_heads, KVH = c.n_kv_heads, hd = c.head_dim(), Tk = acts.Tk;
  const int64_t M = sel ? acts.R : N;  // rows past the keys and values
  const float eps = float(c.rms_norm_eps);
  const float *cos = ws.rope_cos.data(), *sin = ws.rope_sin.data();

  kernels::rmsnorm_forward(L.n1, L.rstd1, L.x, lw.attn_norm.f32(), N, C, eps);
  // The queries' input: n1 itself, or the selected rows of it (in n2, free until the FFN).
  const float* q_in = L.n1;
  const int32_t* q_pos = acts.pos;
  if (sel) {
    kernels::gather_rows(L.n2, L.n1, sel, M, C);
    for (int64_t i = 0; i < M; ++i) acts.row_pos[i] = acts.pos[sel[i]];
    q_in = L.n2;
    q_pos = acts.row_pos;
  }
  if (pq && !sel) {  // one pass over n1 for the three products
    const kernels::PackedProduct qkv[] = {{pq, L.q, C}, {pk, L.k, KV}, {pv, L.v, KV}};
    kernels::gemm_packed_multi(N, L.n1, C, qkv, 3);
  } else if (pq) {
    const kernels::PackedProduct kv[] = {{pk, L.k, KV}, {pv, L.v, KV}};
    kernels::gemm_packed_multi(N, L.n1, C, kv, 2);
    linear(L.q, q_in, lw.q_proj, pq, M, a.matmul_dtype);
  } else if (L.bf.n1) {  // bf16 training: n1 rounded once for the three products
    kernels::round_to_bf16(L.bf.n1, L.n1, N * C);
    linear_bf16(L.q, L.bf.n1, L.bf.q_proj, N, C, C);
    linear_bf16(L.k, L.bf.n1, L.bf.k_proj, N, KV, C);
    linear_bf16(L.v, L.bf.n1, L.bf.v_proj, N, KV, C);
  } else {
    linear(L.q, q_in, lw.q_proj, nullptr, M, a.matmul_dtype);
    linear(L.k, L.n1, lw.k_proj, nullptr, N, a.matmul_dtype);
    linear(L.v, L.n1, lw.v_proj, nullptr, N, a.matmul_dtype);
  }
  kernels::rope_forward(L.q, q_pos, cos, sin, M, H, hd);
  kernels::rope_forward(L.k, acts.pos, cos, sin, N, KVH, hd);
  // With a cache: this call's K/V go to their slots, then attention reads the whole cache.
  const auto [k, v] = store_kv(a, L, l, KV, Tk);
  if (!sel) {
    const kernels::AttnShape s{a.B, a.T, Tk, H, KVH, hd, a.T * C, Tk * KV, a.pos0, a.causal,
                               a.matmul_dtype == DType::BF16};
    kernels::attention_forward(L.att, L.probs, L.q, k, v, a.key_mask, s, acts.attn_scratch);
  } else {
    // One call per run of rows from the same sequence (the samplers list rows by sequence, so
    // that is one call per sequence).
    for (int64_t i0 = 0; i0 < M;) {
      const int64_t b = sel[i0] / a.T;
      int64_t i1 = i0 + 1;
      while (i1 < M && sel[i1] / a.T == b) ++i1;
      const kernels::AttnShape s{1, i1 - i0, Tk, H, KVH, hd, (i1 - i0) * C, Tk * KV, 0, false};
      kernels::attention_forward(L.att + i0 * C, nullptr, L.q + i0 * C, k + b * Tk * KV, v + b * Tk * KV,
                                 a.key_mask ? a.key_mask + b * Tk : nullptr, s, acts.attn_scratch);
      i0 = i1;
    }
  }
  // The residual stream after attention: h = x + attn_out(att), in L.h (or the selected rows' in nf).
  float* h = sel ? acts.nf : L.h;
  if (sel) kernels::gather_rows(h, L.x, sel, M, C);
  else if (h != L.x) kernels::copy(h, L.x, N * C);
  if (L.bf.att) {
    kernels::round_to_bf16(L.bf.att, L.att, N * C);
    linear_bf16(h, L.bf.att, L.bf.attn_out, N, C, C, 1.0f);
  } else {
    linear(h, L.att, lw.attn_out, po, M, a.matmul_dtype, 1.0f);
  }
  kernels::rmsnorm_forward(L.n2, L.rstd2, h, lw.ff_norm.f32(), M, C, eps);
  if (pgate) {
    const kernels::PackedProduct gate_up[] = {{pgate, L.gate, F}, {pup, L.up, F}};
    kernels::gemm_packed_multi(M, L.n2, C, gate_up, 2);
  } else if (L.bf.n2) {
    kernels::round_to_bf16(L.bf.n2, L.n2, N * C);
    linear_bf16(L.gate, L.bf.n2, L.bf.ff_proj, N, F, C);
    linear_bf16(L.up, L.bf.n2, L.bf.up_proj, N, F, C);
  } else {
    linear(L.gate, L.n2, lw.ff_proj, nullptr, M, a.matmul_dtype);
    linear(L.up, L.n2, lw.up_proj, nullptr, M, a.matmul_dtype);
  }
  kernels::swiglu_forward(L.act, L.gate, L.up, M * F);
  // x' = h + ff_out(act): into the next layer's input (in place for the selected rows).
  float* out = sel ? h : (l + 1 < c.n_layers ? acts.layers[size_t(l + 1)].x : acts.x_final);
  if (out != h) kernels::copy(out, h, N * C);
  if (L.bf.act) {
    kernels::round_to_bf16(L.bf.act, L.act, N * F);
    linear_bf16(out, L.bf.act, L.bf.ff_out, N, C, F, 1.0f);
  } else {
    linear(out, L.act, lw.ff_out, pdown, M, a.matmul_dtype, 1.0f);
  }
  return out;
}

}  // namespace

const float* run_forward(const Model& m, const ForwardArgs& a, Workspace& ws, Acts& acts) {
  const ModelConfig& c = m.cfg;
  const Weights& w = m.w;
  const int64_t N = a.B * a.T, C = c.d_model;
  const float eps = float(c.rms_norm_eps);
  const kernels::PackedMatrix* phead = m.packed_of(w.lm_head());

  ensure_rope_tables(c, a.pos0 + a.T, ws);
  if (acts.head_bf) {  // bf16 training: the weights rounded once for this forward and its backward
    auto round = [](bf16_t* dst, const Tensor& W) {
      if (W.dtype == DType::BF16) std::memcpy(dst, W.data, W.nbytes());
      else kernels::round_to_bf16(dst, W.f32(), W.numel());
    };
    for (int64_t l = 0; l < c.n_layers; ++l) {
      const LayerWeights& lw = w.layers[size_t(l)];
      const LayerBf16& b = acts.layers[size_t(l)].bf;
      round(b.q_proj, lw.q_proj);
      round(b.k_proj, lw.k_proj);
      round(b.v_proj, lw.v_proj);
      round(b.attn_out, lw.attn_out);
      round(b.ff_proj, lw.ff_proj);
      round(b.up_proj, lw.up_proj);
      round(b.ff_out, lw.ff_out);
    }
    round(acts.head_bf, w.lm_head());
  }
  for (int64_t i = 0; i < N; ++i) acts.pos[i] = int32_t(a.pos0 + i % a.T);
  kernels::embedding_forward(acts.layers[0].x, a.ids, w.wte.data, w.wte.dtype, N, C);
  // Only the wanted rows leave the last layer (the final norm and the head read nothing else), so
  // in inference the last layer runs its queries, attention output and FFN on them alone: with a
  // 32-row block of a 160-position canvas that is about 2/3 of the layer. (Causal attention would
  // need each row's own key limit: the autoregressive baseline keeps the full layer.)
  const bool rows_only_last = !acts.training && a.rows && !a.causal && 2 * acts.R <= N;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    if (rows_only_last && l + 1 == c.n_layers) {
      const float* hs = layer_forward(m, a, ws, acts, l, a.rows);
      kernels::rmsnorm_forward(acts.nf_rows, acts.rstd_f, hs, w.ln_f.f32(), acts.R, C, eps);
      linear(acts.logits, acts.nf_rows, w.lm_head(), phead, acts.R, a.matmul_dtype);
      return acts.logits;
    }
    layer_forward(m, a, ws, acts, l, nullptr);
  }
  kernels::rmsnorm_forward(acts.nf, acts.rstd_f, acts.x_final, w.ln_f.f32(), N, C, eps);
  if (a.rows) kernels::gather_rows(acts.nf_rows, acts.nf, a.rows, acts.R, C);
  if (acts.nf_rows_bf) {
    kernels::round_to_bf16(acts.nf_rows_bf, acts.nf_rows, acts.R * C);
    linear_bf16(acts.logits, acts.nf_rows_bf, acts.head_bf, acts.R, w.lm_head().shape[0], C);
    return acts.logits;
  }
  linear(acts.logits, acts.nf_rows, w.lm_head(), phead, acts.R, a.matmul_dtype);
  return acts.logits;
}

}  // namespace detail

const float* model_forward(const Model& m, const ForwardArgs& a, Workspace& ws) {
  detail::validate_args(m, a);
  detail::Acts& acts = detail::carve_activations(m, a, ws, /*training=*/false);
  return detail::run_forward(m, a, ws, acts);
}

}  // namespace llada
