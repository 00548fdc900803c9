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

// The layout: every tensor once, in canonical order, as (name, shape, role, where it lives).
// `emit(info, tensor)` receives a pointer into `w` (Weights or const Weights), whose layers are
// already sized. Shapes come from `c`; walking existing weights passes c = nullptr and gets none.
template <class W, class Emit>
void visit_layout(const ModelConfig* c, bool tied, W& w, Emit&& emit) {
  using R = WeightRole;
  using Shape = std::vector<int64_t>;
  const int64_t C = c ? c->d_model : 0, KV = c ? c->kv_dim() : 0, Fh = c ? c->mlp_hidden_size : 0,
                Ve = c ? c->embedding_size : 0;
  auto shape = [&](Shape s) { return c ? s : Shape{}; };
  emit(WeightInfo{"model.transformer.wte.weight", shape({Ve, C}), R::Embedding}, &w.wte);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& l = w.layers[i];
    const int64_t n = int64_t(i);
    emit(WeightInfo{block_name(n, "attn_norm"), shape({C}), R::Norm}, &l.attn_norm);
    emit(WeightInfo{block_name(n, "q_proj"), shape({C, C}), R::Projection}, &l.q_proj);
    emit(WeightInfo{block_name(n, "k_proj"), shape({KV, C}), R::Projection}, &l.k_proj);
    emit(WeightInfo{block_name(n, "v_proj"), shape({KV, C}), R::Projection}, &l.v_proj);
    emit(WeightInfo{block_name(n, "attn_out"), shape({C, C}), R::OutProjection}, &l.attn_out);
    emit(WeightInfo{block_name(n, "ff_norm"), shape({C}), R::Norm}, &l.ff_norm);
    emit(WeightInfo{block_name(n, "ff_proj"), shape({Fh, C}), R::Projection}, &l.ff_proj);
    emit(WeightInfo{block_name(n, "up_proj"), shape({Fh, C}), R::Projection}, &l.up_proj);
    emit(WeightInfo{block_name(n, "ff_out"), shape({C, Fh}), R::OutProjection}, &l.ff_out);
  }
  emit(WeightInfo{"model.transformer.ln_f.weight", shape({C}), R::Norm}, &w.ln_f);
  if (!tied) emit(WeightInfo{"model.transformer.ff_out.weight", shape({Ve, C}), R::Head}, &w.head);
}

// Existing weights: the layout of their own layer count and tying, shapes from the tensors.
template <class W, class Emit>
void visit_existing(W& w, Emit&& emit) {
  visit_layout(nullptr, w.head.empty(), w, [&](WeightInfo&& info, auto* t) {
    info.shape = t->shape;
    emit(std::move(info), t);
  });
}

}  // namespace

std::vector<WeightInfo> weight_layout(const ModelConfig& c) {
  std::vector<WeightInfo> v;
  v.reserve(size_t(3 + 9 * c.n_layers));
  Weights dummy;
  dummy.layers.resize(size_t(c.n_layers));
  visit_layout(&c, c.weight_tying, dummy, [&](WeightInfo&& info, Tensor*) { v.push_back(std::move(info)); });
  return v;
}

void Weights::for_each(const std::function<void(Tensor&)>& f) {
  visit_existing(*this, [&](WeightInfo&&, Tensor* t) { f(*t); });
}

void Weights::for_each(const std::function<void(const Tensor&)>& f) const {
  visit_existing(*this, [&](WeightInfo&&, const Tensor* t) { f(*t); });
}

void Weights::for_each(const std::function<void(const WeightInfo&, Tensor&)>& f) {
  visit_existing(*this, [&](WeightInfo&& info, Tensor* t) { f(info, *t); });
}

void Weights::for_each(const std::function<void(const WeightInfo&, const Tensor&)>& f) const {
  visit_existing(*this, [&](WeightInfo&& info, const Tensor* t) { f(info, *t); });
}

void for_each_twin(const Weights& w, const std::vector<const Weights*>& twins,
                   const std::function<void(const WeightInfo&, const std::vector<const Tensor*>&)>& f) {
  std::vector<std::vector<const Tensor*>> lists(twins.size());
  for (size_t k = 0; k < twins.size(); ++k) twins[k]->for_each([&](const Tensor& t) { lists[k].push_back(&t); });
  size_t i = 0;
  std::vector<const Tensor*> row(twins.size());
  w.for_each([&](const WeightInfo& info, const Tensor& t) {
    for (size_t k = 0; k < twins.size(); ++k) {
      LLADA_CHECK(i < lists[k].size() && lists[k][i]->name == t.name && lists[k][i]->shape == t.shape,
                  "weights and their twin %zu differ at tensor %zu (%s)", k, i, t.name.c_str());
      row[k] = lists[k][i];
    }
    ++i;
    f(info, row);
  });
  for (size_t k = 0; k < twins.size(); ++k)
    LLADA_CHECK(lists[k].size() == i, "weights have %zu tensors, their twin %zu has %zu", i, k, lists[k].size());
}

Weights Weights::allocate(const ModelConfig& cfg, DType matrix_dtype) {
  Weights w;
  w.layers.resize(size_t(cfg.n_layers));
  visit_layout(&cfg, cfg.weight_tying, w, [&](WeightInfo&& info, Tensor* t) {
    *t = Tensor::zeros(info.name, info.shape, info.is_norm() ? DType::F32 : matrix_dtype);
  });
  return w;
}

Weights weights_from_list(const ModelConfig& cfg, std::vector<Tensor>&& tensors) {
  Weights w;
  w.layers.resize(size_t(cfg.n_layers));
  size_t i = 0;
  visit_layout(&cfg, cfg.weight_tying, w, [&](WeightInfo&& info, Tensor* t) {
    LLADA_ASSERT(i < tensors.size() && tensors[i].name == info.name);
    *t = std::move(tensors[i++]);
  });
  LLADA_ASSERT(i == tensors.size());
  return w;
}

Weights Weights::like(const Weights& w, DType dtype) {
  Weights out;
  out.layers.resize(w.layers.size());
  std::vector<const Tensor*> src;
  w.for_each([&](const Tensor& t) { src.push_back(&t); });
  size_t i = 0;
  visit_layout(nullptr, w.head.empty(), out, [&](WeightInfo&&, Tensor* t) {
    *t = Tensor::zeros(src[i]->name, src[i]->shape, dtype);
    ++i;
  });
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
  w.for_each([&](const WeightInfo& info, Tensor& t) {
    const uint64_t tensor_seed = root.next_u64();
    const bool norm = info.is_norm();
    const float std = info.role == WeightRole::OutProjection ? out_std : init_std;
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

void for_each_product_weight(const Weights& w, const std::function<void(const WeightInfo&, const Tensor&)>& f) {
  w.for_each([&](const WeightInfo& info, const Tensor& t) {
    const bool tied_head = info.role == WeightRole::Embedding && w.head.empty();
    if (tied_head || info.role == WeightRole::Projection || info.role == WeightRole::OutProjection ||
        info.role == WeightRole::Head)
      f(info, t);
  });
}

}  // namespace llada
