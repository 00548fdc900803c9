#include "model/quantize.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "core/sys.h"
#include "kernels/packed_matmul.h"
#include "model/weights_io.h"

namespace llada {

bool is_quantized_role(const WeightInfo& info) {
  return info.role == WeightRole::Projection || info.role == WeightRole::OutProjection ||
         info.role == WeightRole::Head;
}

std::string scale_name(const std::string& weight_name) { return weight_name + "_scale"; }
std::string colsum_name(const std::string& weight_name) { return weight_name + "_colsum"; }

void quantize_rows_int8(const Tensor& W, int8_t* q, float* scales) {
  LLADA_CHECK(W.dtype == DType::F32 || W.dtype == DType::BF16 || W.dtype == DType::F16,
              "quantize: tensor %s has dtype %s (expected float weights)", W.name.c_str(), dtype_name(W.dtype));
  const int64_t rows = W.rows(), cols = W.cols();
  const size_t es = dtype_size(W.dtype);
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      convert_to_f32(row.data(), static_cast<const uint8_t*>(W.data) + size_t(r * cols) * es, W.dtype, size_t(cols));
      float amax = 0;
      for (float v : row) amax = std::max(amax, std::fabs(v));
      const float inv = amax > 0 ? 127.0f / amax : 0.0f;
      scales[r] = amax / 127.0f;
      for (int64_t c = 0; c < cols; ++c)
        q[r * cols + c] = int8_t(std::clamp(std::nearbyint(row[size_t(c)] * inv), -127.0f, 127.0f));
    }
  }
}

void quantize_groups_q4(const Tensor& W, int8_t* q, bf16_t* scales) {
  LLADA_CHECK(W.dtype == DType::F32 || W.dtype == DType::BF16 || W.dtype == DType::F16,
              "quantize: tensor %s has dtype %s (expected float weights)", W.name.c_str(), dtype_name(W.dtype));
  const int64_t rows = W.rows(), cols = W.cols(), groups = (cols + kQ4Group - 1) / kQ4Group;
  const size_t es = dtype_size(W.dtype);
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(cols));
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      convert_to_f32(row.data(), static_cast<const uint8_t*>(W.data) + size_t(r * cols) * es, W.dtype, size_t(cols));
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t k0 = g * kQ4Group, k1 = std::min(cols, k0 + kQ4Group);
        float amax = 0;
        for (int64_t k = k0; k < k1; ++k) amax = std::max(amax, std::fabs(row[size_t(k)]));
        const bf16_t s = f32_to_bf16(amax / 7.0f);
        const float sf = bf16_to_f32(s);
        scales[r * groups + g] = s;
        for (int64_t k = k0; k < k1; ++k)
          q[r * cols + k] = sf > 0 ? int8_t(std::clamp(std::nearbyint(row[size_t(k)] / sf), -7.0f, 7.0f)) : int8_t(0);
      }
    }
  }
}

void save_quantized(const std::string& dir, const Model& m, const std::string& scheme, const std::string& layout,
                    size_t max_shard_bytes) {
  LLADA_CHECK(scheme == "int8" || scheme == "q4", "quantize: unknown --type '%s' (supported: int8, q4)",
              scheme.c_str());
  LLADA_CHECK(layout == "panels" || (layout == "rows" && scheme == "int8"),
              "quantize: --layout '%s' for %s (int8: panels or rows; q4: panels)", layout.c_str(), scheme.c_str());
  LLADA_CHECK(m.cfg.quantization.empty(), "quantize: the model is already quantized (%s)",
              m.cfg.quantization.c_str());
  ModelConfig cfg = m.cfg;
  cfg.quantization = scheme;
  cfg.quant_layout = layout;
  // The stored tensors, each with its own dtype (write_safetensors keeps a tensor's dtype when
  // the file dtype is not a float type).
  std::vector<Tensor> out;
  m.w.for_each([&](const WeightInfo& info, const Tensor& t) {
    if (is_quantized_role(info) && scheme == "q4") {
      const int64_t N = t.rows(), K = t.cols();
      std::vector<int8_t> q(size_t(N * K));
      std::vector<bf16_t> s(size_t(N * ((K + kQ4Group - 1) / kQ4Group)));
      quantize_groups_q4(t, q.data(), s.data());
      const auto p = kernels::PackedMatrix::pack_q4(q.data(), s.data(), N, K);
      Tensor panels = Tensor::zeros(t.name, kernels::PackedMatrix::q4_panel_shape(N, K), DType::U8);
      std::memcpy(panels.data, p.packed_data(), panels.nbytes());
      Tensor scales = Tensor::zeros(scale_name(t.name), kernels::PackedMatrix::q4_scale_shape(N, K), DType::BF16);
      std::memcpy(scales.data, p.aux_data(), scales.nbytes());
      out.push_back(std::move(panels));
      out.push_back(std::move(scales));
    } else if (is_quantized_role(info)) {
      Tensor q = Tensor::zeros(t.name, t.shape, DType::I8);
      Tensor s = Tensor::zeros(scale_name(t.name), {t.rows()}, DType::F32);
      quantize_rows_int8(t, static_cast<int8_t*>(q.data), s.f32());
      if (layout == "panels") {
        // The kernels' layout, stored as it is packed, so loading maps it instead of repacking.
        const int64_t N = t.rows(), K = t.cols();
        const auto p = kernels::PackedMatrix::pack_int8(static_cast<const int8_t*>(q.data), s.f32(), N, K, K);
        Tensor panels = Tensor::zeros(t.name, kernels::PackedMatrix::int8_panel_shape(N, K), DType::I8);
        std::memcpy(panels.data, p.packed_data(), panels.nbytes());
        Tensor sums = Tensor::zeros(colsum_name(t.name), {N}, DType::I32);
        std::memcpy(sums.data, p.aux_data(), sums.nbytes());  // the aux buffer starts with the sums
        q = std::move(panels);
        out.push_back(std::move(sums));
      }
      out.push_back(std::move(q));
      out.push_back(std::move(s));
    } else {
      Tensor c = Tensor::zeros(t.name, t.shape, info.is_norm() ? DType::F32 : DType::BF16);
      constexpr size_t kChunk = size_t(1) << 20;  // through f32 a chunk at a time: no f32 copy of wte
      std::vector<float> buf(std::min(kChunk, size_t(t.numel())));
      const size_t n = size_t(t.numel()), is = dtype_size(t.dtype), os = dtype_size(c.dtype);
      for (size_t lo = 0; lo < n; lo += kChunk) {
        const size_t m = std::min(kChunk, n - lo);
        convert_to_f32(buf.data(), static_cast<const uint8_t*>(t.data) + lo * is, t.dtype, m);
        convert_from_f32(static_cast<uint8_t*>(c.data) + lo * os, c.dtype, buf.data(), m);
      }
      out.push_back(std::move(c));
    }
    release_file_pages(t.data, t.nbytes());  // read once: a 16 GB source need not stay resident
  });
  make_dirs(dir);
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : out) ptrs.push_back(&t);
  write_weight_files(dir, ptrs, DType::I8, max_shard_bytes);  // I8: every tensor keeps its dtype
  // config.json last: a directory whose config says int8 always has its int8 tensors.
  write_file_atomic((std::filesystem::path(dir) / "config.json").string(), cfg.to_json().dump(2) + "\n");
}

}  // namespace llada
