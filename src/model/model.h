// The LLaDA mask predictor: a LLaMA-style Transformer without a causal mask (spec section 1).
// Forward over a batch, optionally against a KV cache and returning logits only for chosen rows;
// forward+backward of any weighted cross-entropy over chosen rows. The autoregressive baseline is
// the same model with causal=true.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/arena.h"
#include "core/tensor.h"
#include "kernels/packed_matmul.h"
#include "model/config.h"
#include "model/weights.h"

namespace llada {

struct Model {
  ModelConfig cfg;
  Weights w;
  // Set by pack_for_inference(): every product weight packed for the inference kernels, a snapshot
  // of `w` (whoever changes the weights must pack again or drop it, so the trainer, which updates
  // weights in place, never packs). The forward uses it when present (no per-call weight packing,
  // no per-shape kernel set-up), kernels::gemm otherwise.
  std::shared_ptr<const kernels::PackedSet> packed;
  // The packed twin of a weight of `w`, or null.
  const kernels::PackedMatrix* packed_of(const Tensor& W) const { return packed ? packed->find(W.data) : nullptr; }
  static Model load(const std::string& dir, const LoadOptions& opt = {});
  // Packs every matrix (costs one more copy of the matrices in memory; the originals stay, as the
  // embedding lookup and the backward read them). Call again after changing the weights.
  void pack_for_inference();
  void save(const std::string& dir, DType dtype) const { save_model_dir(dir, cfg, w, dtype); }
};

// Keys and values of every layer, stored after RoPE: k[l], v[l] are [B][T][KVH*hd].
struct KVCache {
  int64_t B = 0, T = 0;
  std::vector<Tensor> k, v;
  void allocate(const ModelConfig& cfg, int64_t B, int64_t T);
};

struct ForwardArgs {
  int64_t B = 1, T = 0;               // computed rows: B sequences × T positions
  const int32_t* ids = nullptr;       // [B, T]
  int64_t pos0 = 0;                   // absolute position of column 0 (RoPE and cache slot)
  const uint8_t* key_mask = nullptr;  // [B, Tk], 1 = attend; Tk = cache ? cache->T : T. null = all
  bool causal = false;                // autoregressive baseline
  // With a cache: this call's K/V are written to slots [pos0, pos0+T) and queries attend over all
  // cache->T slots (the rest hold K/V from an earlier call: prefix and dual caching).
  KVCache* cache = nullptr;
  // Rows of logits wanted, flat indices b*T + t; null = all B*T rows in order.
  const int32_t* rows = nullptr;
  int64_t n_rows = 0;
  // BF16: every matrix product (the linear layers, the head, attention's score and value
  // products) takes bf16-rounded inputs with f32 accumulation, in the forward and the backward
  // (mixed-precision training; kernels::gemm_bf16). The weights stay as they are (the trainer's
  // f32 master copy); norms, softmax, the residual stream and the loss stay f32. Packed
  // (inference) weights ignore it: they carry their own dtype.
  DType matmul_dtype = DType::F32;
};

// Owns the activation memory for forward and backward; reuse one across calls so that steady
// state allocates nothing (it grows only when a larger shape arrives).
class Workspace {
 public:
  Arena arena;
  size_t peak_bytes() const { return arena.capacity(); }
  // RoPE angle tables for positions [0, rope_len), grown on demand and reused.
  std::vector<float> rope_cos, rope_sin;
  int64_t rope_len = 0, rope_hd = 0;
  double rope_theta = 0;
  std::shared_ptr<void> impl;  // the activation table (model/activations.h), reused across calls
};

// Returns logits [n_rows (or B*T), embedding_size], valid until the next call on `ws`.
const float* model_forward(const Model& m, const ForwardArgs& a, Workspace& ws);

// Weighted cross-entropy over chosen rows: loss = sum_i weights[i] * CE(logits[rows[i]], targets[i]).
// Returns the loss; ACCUMULATES gradients into `grads` (a Weights::like(m.w, F32)).
// a.rows/a.n_rows select the rows (required), a.cache must be null.
double model_forward_backward(const Model& m, const ForwardArgs& a, const int32_t* targets,
                              const float* weights, Weights& grads, Workspace& ws);

// FLOPs (2 x multiply-adds) of one forward over B*T rows attending over Tk keys and producing
// n_rows logits. Forward+backward costs 3x this.
double forward_flops(const ModelConfig& cfg, int64_t B, int64_t T, int64_t Tk, int64_t n_rows);

}  // namespace llada
