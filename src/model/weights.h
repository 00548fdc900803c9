// The model's weight tensors, listed exactly once (visit_layout in weights.cpp, one line per
// tensor: name, shape, role, member) so that loading, saving, initialisation, gradients and the
// optimizer all walk the same list with the same names and decide by role, never by name.
// Matrices keep their storage dtype (f32 or bf16; f16 files are widened to f32 at load);
// norm weights are always f32 in memory.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/tensor.h"
#include "model/config.h"

namespace llada {

// What a tensor is for: initialisation, weight decay and storage follow from it.
enum class WeightRole {
  Embedding,      // wte: rows looked up by token id
  Norm,           // RMSNorm scale (1-D): ones at init, always f32 in memory, never decayed
  Projection,     // q, k, v, gate, up: normal(0, init_std)
  OutProjection,  // attn_out and a block's ff_out, writing into the residual: init_std / sqrt(2 L)
  Head,           // the untied output embedding (absent when weight_tying)
};

// One tensor of the layout a config implies.
struct WeightInfo {
  std::string name;  // the Hugging Face name
  std::vector<int64_t> shape;
  WeightRole role;
  bool is_norm() const { return role == WeightRole::Norm; }
};

struct LayerWeights {
  Tensor attn_norm;  // (C)
  Tensor q_proj;     // (C, C)
  Tensor k_proj;     // (KVH*hd, C)
  Tensor v_proj;     // (KVH*hd, C)
  Tensor attn_out;   // (C, C)
  Tensor ff_norm;    // (C)
  Tensor ff_proj;    // (F, C)  gate
  Tensor up_proj;    // (F, C)
  Tensor ff_out;     // (C, F)  down
};

struct Weights {
  Tensor wte;                        // (Ve, C)
  std::vector<LayerWeights> layers;  // n_layers
  Tensor ln_f;                       // (C)
  Tensor head;                       // (Ve, C); empty when weight_tying (use wte)

  const Tensor& lm_head() const { return head.empty() ? wte : head; }

  // Visit every tensor in canonical order. `head` is skipped when tied.
  void for_each(const std::function<void(Tensor&)>& f);
  void for_each(const std::function<void(const Tensor&)>& f) const;
  // The same with each tensor's layout entry (name, shape, role).
  void for_each(const std::function<void(const WeightInfo&, Tensor&)>& f);
  void for_each(const std::function<void(const WeightInfo&, const Tensor&)>& f) const;

  // Allocate every tensor for `cfg` with names and shapes filled in (zeros). Matrices get
  // `matrix_dtype`, norms F32.
  static Weights allocate(const ModelConfig& cfg, DType matrix_dtype);
  // Same names/shapes as allocate(cfg, F32): the layout of gradients and optimizer moments.
  static Weights like(const Weights& w, DType dtype);
};

// The tensors `cfg` implies, in canonical (for_each) order: the one list behind allocate(), the
// loader's expectations and the saver's checks.
std::vector<WeightInfo> weight_layout(const ModelConfig& cfg);

// Visits every matrix the forward multiplies by: the projections and output projections, and the
// head (wte when the embedding is tied). Packing and the GEMM benchmark walk this list.
void for_each_product_weight(const Weights& w, const std::function<void(const WeightInfo&, const Tensor&)>& f);

// Visits `w` and its twins (gradients, optimizer moments: Weights of the same layout) together:
// f(info, w_tensor, twin_tensor...). Throws if a twin's layout differs.
void for_each_twin(const Weights& w, const std::vector<const Weights*>& twins,
                   const std::function<void(const WeightInfo&, const std::vector<const Tensor*>&)>& f);

// Random initialisation for a new model by role: normal(0, init_std) for embeddings, projections
// and the head, init_std / sqrt(2*n_layers) for output projections, ones for norms.
void init_weights(Weights& w, const ModelConfig& cfg, uint64_t seed, float init_std = 0.02f);

// Hugging Face LLaDA directory I/O (config.json + model.safetensors or shards with index).
struct Model;
}  // namespace llada
namespace llada::kernels {
class PackedSet;
}
namespace llada {
struct LoadOptions {
  bool force_f32 = false;        // widen bf16 matrices to f32 (training needs f32 master weights)
  DType convert_to = DType::F32; // used only when `convert` is true
  bool convert = false;          // convert matrices to `convert_to`
};
// A quantized directory that stores the kernels' layout (quantization_config.layout "panels") puts
// each matrix's packed twin into `prepacked` when given (Model::load does; `info` only validates).
void load_model_dir(const std::string& dir, ModelConfig* cfg, Weights* w, const LoadOptions& opt = {},
                    kernels::PackedSet* prepacked = nullptr);
// Writes config.json + model.safetensors (sharded above `max_shard_bytes`, with an index), each file
// atomically. Matrices are written in `dtype` (F32 or BF16), norms too (as HF does).
void save_model_dir(const std::string& dir, const ModelConfig& cfg, const Weights& w, DType dtype,
                    size_t max_shard_bytes = size_t(5) << 30);

}  // namespace llada
