// Model-level glue: loading, the KV cache, FLOP counting.
#include "model/model.h"

#include "core/error.h"
#include "core/sys.h"

#include <cstdint>

namespace llada {

Model Model::load(const std::string& dir, const LoadOptions& opt) {
  Model m;
  auto prepacked = std::make_shared<kernels::PackedSet>();
  load_model_dir(dir, &m.cfg, &m.w, opt, prepacked.get());
  if (!prepacked->empty()) m.packed = std::move(prepacked);
  return m;
}

void Model::pack_for_inference() {
  // Tensor by tensor, releasing each original as soon as it is packed, so the peak is the packed
  // copy plus one matrix rather than two copies of the model.
  auto pack = [](const Tensor& W) {
    LLADA_CHECK(W.dtype != DType::I8 || W.row_scales, "%s: int8 weights without scales", W.name.c_str());
    auto p = W.dtype == DType::I8
                 ? kernels::PackedMatrix::pack_int8(static_cast<const int8_t*>(W.data), W.row_scales->f32(),
                                                    W.shape[0], W.shape[1], W.shape[1])
                 : kernels::PackedMatrix::pack(W.data, W.dtype, W.shape[0], W.shape[1], W.shape[1]);
    // Inference reads the original only for the embedding lookup (a few rows per call): let a
    // memory-mapped original's pages go (LLaDA-8B's 16 GB of bf16 would otherwise sit beside the
    // 16 GB packed copy).
    if (!p.is_fallback()) release_file_pages(W.data, W.nbytes());
    return p;
  };
  // Matrices stored in the kernels' layout came packed from the file (Model::load): kept as they are.
  auto p = packed ? std::make_shared<kernels::PackedSet>(*packed) : std::make_shared<kernels::PackedSet>();
  for_each_product_weight(w, [&](const WeightInfo&, const Tensor& W) {
    if (!p->find(W.data)) p->add(W.data, pack(W));
  });
  packed = std::move(p);
}

void KVCache::allocate(const ModelConfig& cfg, int64_t batch, int64_t len) {
  LLADA_CHECK(batch > 0 && len > 0, "KV cache: bad size %lld x %lld", (long long)batch, (long long)len);
  if (B == batch && T == len && int64_t(k.size()) == cfg.n_layers &&
      (k.empty() || k[0].shape[2] == cfg.kv_dim()))
    return;  // reuse
  B = batch;
  T = len;
  k.clear();
  v.clear();
  for (int64_t l = 0; l < cfg.n_layers; ++l) {
    k.push_back(Tensor::zeros("cache.k." + std::to_string(l), {batch, len, cfg.kv_dim()}));
    v.push_back(Tensor::zeros("cache.v." + std::to_string(l), {batch, len, cfg.kv_dim()}));
  }
}

double forward_flops(const ModelConfig& c, int64_t B, int64_t T, int64_t Tk, int64_t n_rows) {
  const double C = double(c.d_model), KV = double(c.kv_dim()), F = double(c.mlp_hidden_size);
  double per_token_layer = 2 * C * C + 2 * C * KV + 3 * C * F + 2 * double(Tk) * C;
  double macs = double(B * T) * per_token_layer * double(c.n_layers) +
                double(n_rows) * C * double(c.embedding_size);
  return 2.0 * macs;
}

}  // namespace llada
