#include "train/adamw.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"

namespace llada::train {

namespace {
// The three Weights have identical layouts; collect pointers once per call (a few hundred tensors).
std::vector<Tensor*> tensors_of(Weights& w) {
  std::vector<Tensor*> out;
  w.for_each([&](Tensor& t) { out.push_back(&t); });
  return out;
}
std::vector<const Tensor*> tensors_of(const Weights& w) {
  std::vector<const Tensor*> out;
  w.for_each([&](const Tensor& t) { out.push_back(&t); });
  return out;
}
}  // namespace

AdamW::AdamW(const Weights& params, const AdamWConfig& cfg)
    : cfg_(cfg), m_(Weights::like(params, DType::F32)), v_(Weights::like(params, DType::F32)) {}

bool AdamW::decays(WeightRole role) const {
  switch (role) {
    case WeightRole::Norm: return false;
    case WeightRole::Embedding:
    case WeightRole::Head: return cfg_.decay_embeddings;
    case WeightRole::Projection:
    case WeightRole::OutProjection: return true;
  }
  return true;
}

void AdamW::step(Weights& params, const Weights& grads, double lr) {
  // The moments and gradients are twins of params (Weights::like): the same walk, in step.
  auto G = tensors_of(grads);
  auto M = tensors_of(m_);
  auto V = tensors_of(v_);
  LLADA_CHECK(G.size() == M.size() && G.size() == V.size(), "AdamW: gradient/moment lists differ (%zu, %zu, %zu)",
              G.size(), M.size(), V.size());
  ++t_;
  size_t k = 0;
  params.for_each([&](const WeightInfo& info, Tensor& p) {
    LLADA_CHECK(k < G.size(), "AdamW: the parameters have more tensors than the gradients (%zu)", G.size());
    const Tensor& g = *G[k];
    LLADA_CHECK(p.dtype == DType::F32 && g.dtype == DType::F32,
                "AdamW: tensor %s must be F32 (master weights), found %s", p.name.c_str(),
                dtype_name(p.dtype));
    LLADA_CHECK(p.numel() == g.numel() && p.numel() == M[k]->numel(),
                "AdamW: tensor %s has %lld values but its gradient %lld", p.name.c_str(), (long long)p.numel(),
                (long long)g.numel());
    const AdamWScalars s = AdamWScalars::make(cfg_, lr, t_, decays(info.role));
    adamw_update(p.f32(), g.f32(), M[k]->f32(), V[k]->f32(), p.numel(), s);
    ++k;
  });
  LLADA_CHECK(k == G.size(), "AdamW: %zu parameter tensors, %zu gradients", k, G.size());
}

double grad_global_norm(const Weights& grads) {
  double total = 0;
  grads.for_each([&](const Tensor& g) {
    const float* d = g.f32();
    const int64_t n = g.numel();
    double s = 0;
    // Fixed-shape reduction (static schedule, fixed thread count) keeps the result reproducible.
#pragma omp parallel for schedule(static) reduction(+ : s) if (n > 65536)
    for (int64_t i = 0; i < n; ++i) s += double(d[i]) * double(d[i]);
    total += s;
  });
  return std::sqrt(total);
}

void zero_grads(Weights& grads) {
  grads.for_each([](Tensor& g) { std::memset(g.data, 0, g.nbytes()); });
}

double clip_grad_norm(Weights& grads, double max_norm) {
  const double norm = grad_global_norm(grads);
  if (max_norm <= 0) return norm;
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    const float c = float(coef);
    grads.for_each([&](Tensor& g) {
      float* d = g.f32();
      const int64_t n = g.numel();
#pragma omp parallel for schedule(static) if (n > 65536)
      for (int64_t i = 0; i < n; ++i) d[i] *= c;
    });
  }
  return norm;
}

}  // namespace llada::train
