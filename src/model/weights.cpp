// The weight list (allocate / like / for_each) and random initialisation. Directory I/O lives in
// weights_io.cpp.
#include "model/weights.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "model/weights_io.h"

namespace llada {
namespace {

std::string block_name(int64_t i, const char* leaf) {
  return "model.transformer.blocks." + std::to_string(i) + "." + leaf + ".weight";
}

// Pointers to the tensors in the same canonical order as visit_layout.
std::vector<Tensor*> slots(Weights& w, bool with_head) {
  std::vector<Tensor*> s{&w.wte};
  for (LayerWeights& l : w.layers)
    for (Tensor* t : {&l.attn_norm, &l.q_proj, &l.k_proj, &l.v_proj, &l.attn_out, &l.ff_norm,
                      &l.ff_proj, &l.up_proj, &l.ff_out})
      s.push_back(t);
  s.push_back(&w.ln_f);
  if (with_head) s.push_back(&w.head);
  return s;
}

}  // namespace

std::vector<TensorSpec> weight_layout(const ModelConfig& c) {
  const int64_t C = c.d_model, KV = c.kv_dim(), Fh = c.mlp_hidden_size, Ve = c.embedding_size;
  std::vector<TensorSpec> v;
  v.reserve(size_t(3 + 9 * c.n_layers));
  v.push_back({"model.transformer.wte.weight", {Ve, C}, false});
  for (int64_t i = 0; i < c.n_layers; ++i) {
    v.push_back({block_name(i, "attn_norm"), {C}, true});
    v.push_back({block_name(i, "q_proj"), {C, C}, false});
    v.push_back({block_name(i, "k_proj"), {KV, C}, false});
    v.push_back({block_name(i, "v_proj"), {KV, C}, false});
    v.push_back({block_name(i, "attn_out"), {C, C}, false});
    v.push_back({block_name(i, "ff_norm"), {C}, true});
    v.push_back({block_name(i, "ff_proj"), {Fh, C}, false});
    v.push_back({block_name(i, "up_proj"), {Fh, C}, false});
    v.push_back({block_name(i, "ff_out"), {C, Fh}, false});
  }
  v.push_back({"model.transformer.ln_f.weight", {C}, true});
  if (!c.weight_tying) v.push_back({"model.transformer.ff_out.weight", {Ve, C}, false});
  return v;
}

void Weights::for_each(const std::function<void(Tensor&)>& f) {
  for (Tensor* t : slots(*this, !head.empty())) f(*t);
}

void Weights::for_each(const std::function<void(const Tensor&)>& f) const {
  for (Tensor* t : slots(const_cast<Weights&>(*this), !head.empty())) f(*t);
}

Weights Weights::allocate(const ModelConfig& cfg, DType matrix_dtype) {
  Weights w;
  w.layers.resize(size_t(cfg.n_layers));
  std::vector<Tensor*> s = slots(w, !cfg.weight_tying);
  std::vector<TensorSpec> layout = weight_layout(cfg);
  LLADA_ASSERT(layout.size() == s.size());
  for (size_t i = 0; i < s.size(); ++i)
    *s[i] =
        Tensor::zeros(layout[i].name, layout[i].shape, layout[i].norm ? DType::F32 : matrix_dtype);
  return w;
}

Weights weights_from_list(const ModelConfig& cfg, std::vector<Tensor>&& tensors) {
  Weights w;
  w.layers.resize(size_t(cfg.n_layers));
  std::vector<Tensor*> s = slots(w, !cfg.weight_tying);
  std::vector<TensorSpec> layout = weight_layout(cfg);
  LLADA_ASSERT(tensors.size() == s.size() && layout.size() == s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    LLADA_ASSERT(tensors[i].name == layout[i].name);
    *s[i] = std::move(tensors[i]);
  }
  return w;
}

Weights Weights::like(const Weights& w, DType dtype) {
  Weights out;
  out.layers.resize(w.layers.size());
  const bool with_head = !w.head.empty();
  std::vector<Tensor*> dst = slots(out, with_head);
  std::vector<Tensor*> src = slots(const_cast<Weights&>(w), with_head);
  for (size_t i = 0; i < src.size(); ++i)
    *dst[i] = Tensor::zeros(src[i]->name, src[i]->shape, dtype);
  return out;
}

void init_weights(Weights& w, const ModelConfig& cfg, uint64_t seed, float init_std) {
  LLADA_CHECK(w.layers.size() == size_t(cfg.n_layers), "init_weights: %zu layers, config has %lld",
              w.layers.size(), (long long)cfg.n_layers);
  // GPT-2 style: residual-branch outputs are scaled so the residual stream's variance does not grow
  // with depth.
  const float out_std = init_std / std::sqrt(2.0f * float(cfg.n_layers));
  // Every tensor gets its own stream, split into fixed chunks with their own streams, so the result
  // depends only on the seed (not on the thread count) and chunks fill in parallel.
  constexpr int64_t kChunk = int64_t(1) << 14;  // 64 KB of stack per thread
  Rng root(seed);
  w.for_each([&](Tensor& t) {
    const uint64_t tensor_seed = root.next_u64();
    const bool norm = t.shape.size() == 1;
    const bool out_proj =
        t.name.ends_with(".attn_out.weight") ||
        (t.name.ends_with(".ff_out.weight") && t.name.find(".blocks.") != std::string::npos);
    const float std = out_proj ? out_std : init_std;
    const int64_t n = t.numel();
    const int64_t nchunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for schedule(static) if (nchunks > 1)
    for (int64_t c = 0; c < nchunks; ++c) {
      const int64_t lo = c * kChunk, m = std::min(kChunk, n - lo);
      float buf[kChunk];
      Rng r(tensor_seed ^ (uint64_t(c) * 0x9e3779b97f4a7c15ull));
      for (int64_t k = 0; k < m; ++k) buf[k] = norm ? 1.0f : float(r.normal()) * std;
      if (t.dtype == DType::F32) {
        std::copy(buf, buf + m, t.f32() + lo);
      } else {
        convert_from_f32(static_cast<uint8_t*>(t.data) + size_t(lo) * dtype_size(t.dtype), t.dtype,
                         buf, size_t(m));
      }
    }
  });
}

}  // namespace llada
