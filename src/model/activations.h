// Internal: where the forward pass keeps its activations. In training every layer gets its own
// buffers (the backward pass reads them, llm.c style); in inference all layers share one set.
// Buffers are carved from the Workspace arena by a layout function run twice: once to measure,
// once to carve, so the arena is sized exactly and steady-state calls allocate nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "model/model.h"

namespace llada::detail {

// Mixed-precision training (ForwardArgs::matmul_dtype == BF16): every operand of a layer's
// products rounded to bf16 once, in the forward, and read again by the backward, instead of being
// rounded anew by each product that reads it (n1 feeds three products, a weight two, ...).
// Null outside bf16 training.
struct LayerBf16 {
  bf16_t *n1, *att, *n2, *act;  // the products' inputs, as the f32 buffers of the same name
  bf16_t *q_proj, *k_proj, *v_proj, *attn_out, *ff_proj, *up_proj, *ff_out;  // the weights
};

struct LayerActs {
  float* x;      // (N, C)  residual stream entering the layer
  float* n1;     // (N, C)  attn_norm(x)
  float* rstd1;  // (N)
  float* q;      // (N, C)  after RoPE
  float* k;      // (N, KV) after RoPE
  float* v;      // (N, KV)
  float* probs;  // (B, H, T, Tk) softmax (training only)
  float* att;    // (N, C)  attention output before attn_out
  float* h;      // (N, C)  residual after attention
  float* n2;     // (N, C)  ff_norm(h)
  float* rstd2;  // (N)
  float* gate;   // (N, F)
  float* up;     // (N, F)
  float* act;    // (N, F)  silu(gate) * up
  LayerBf16 bf;  // bf16 training only
};

// Backward scratch (training only).
struct Grads {
  float* dres;   // (N, C) gradient of the residual stream
  float* dn;     // (N, C) gradient wrt a norm's output
  float* dnr;    // (R, C) gradient wrt nf_rows
  float* datt;   // (N, C)
  float* dq;     // (N, C)
  float* dk;     // (N, KV)
  float* dv;     // (N, KV)
  float* dgate;  // (N, F)
  float* dup;    // (N, F)
  float* dact;   // (N, F)
  bf16_t* dy;    // bf16 training: the output gradient of the product being differentiated, rounded
                 // once for both of its products (the largest: (R, Ve), (N, F) or (N, C))
};

struct Acts {
  int64_t N = 0, R = 0, Tk = 0;
  bool training = false;
  std::vector<LayerActs> layers;  // n_layers entries (aliases of one set in inference)
  float* x_final;       // (N, C)  residual after the last layer
  float* rstd_f;        // (N)
  float* nf;            // (N, C)  ln_f(x_final)
  float* nf_rows;       // (R, C)  rows of nf whose logits are wanted (== nf when all rows)
  float* logits;        // (R, Ve)
  int32_t* pos;         // (N)     absolute positions
  int32_t* row_pos;     // (N)     positions of the wanted rows (inference: last layer on rows)
  float* attn_scratch;  // attention kernel scratch
  bf16_t* nf_rows_bf;   // (R, C)  bf16 training: nf_rows rounded
  bf16_t* head_bf;      // (Ve, C) bf16 training: the head's weight rounded
  Grads grad{};         // training only
};

// Carve the activations for `a` out of ws.arena (reserving exactly what is needed first).
Acts& carve_activations(const Model& m, const ForwardArgs& a, Workspace& ws, bool training);

// Checks ids, rows and cache bounds; throws llada::Error naming what is wrong.
void validate_args(const Model& m, const ForwardArgs& a);

// Runs the forward pass, filling `acts` (and the cache if a.cache is set). Returns acts.logits.
const float* run_forward(const Model& m, const ForwardArgs& a, Workspace& ws, Acts& acts);

}  // namespace llada::detail
