// Quantized inference weights: int8 matrices with one F32 scale per output channel.
//
// Which tensors: the linear layers and an untied head, i.e. what the packed kernels multiply. The
// embedding is a row lookup (and, when tied, also the head): it stays float (BF16), as do the norms.
// Scheme (the same rule the kernels apply to activations, kernels/packed_matmul.h): for each row
// w, scale = max|w| / 127 and q = round-half-even(w * (127 / max|w|)) in [-127, 127]; a zero row
// has scale 0. Stored in safetensors with "quantization_config" in config.json (model/config.h),
// in one of two layouts (save_quantized).
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "model/model.h"

namespace llada {

// Whether a quantized model stores this tensor as int8.
bool is_quantized_role(const WeightInfo& info);
// The names of a quantized matrix's scale tensor and (layout "panels") column-sum tensor.
std::string scale_name(const std::string& weight_name);
std::string colsum_name(const std::string& weight_name);
// Rows of W (F32 or BF16, [rows, cols]) quantized: q [rows * cols], scales [rows].
void quantize_rows_int8(const Tensor& W, int8_t* q, float* scales);
// 4-bit ("q4"): each row in groups of kQ4Group inputs (the last one shorter when cols is not a
// multiple), s = bf16(max|w| / 7) and q = round-half-even(w / s) in [-7, 7] (s = 0: q = 0).
// q [rows * cols], scales [rows * ceil(cols / kQ4Group)].
constexpr int64_t kQ4Group = 32;
void quantize_groups_q4(const Tensor& W, int8_t* q, bf16_t* scales);
// Writes `m` to `dir` with the scheme ("int8" or "q4"): config.json (with quantization_config) and
// model.safetensors (sharded above max_shard_bytes), atomically. The model must hold float weights.
// layout "panels" stores each matrix in the packed kernels' layout (kernels/packed_matmul.h:
// `NAME` I8 int8_panel_shape(rows, cols), `NAME_colsum` I32 [rows], `NAME_scale` F32 [rows]), which
// loads without repacking; "rows" stores the row-major matrix (`NAME` I8 [rows, cols], `NAME_scale`),
// the portable form other tools read directly. q4 has the "panels" layout only: `NAME` U8
// q4_panel_shape and `NAME_scale` BF16 q4_scale_shape.
void save_quantized(const std::string& dir, const Model& m, const std::string& scheme,
                    const std::string& layout = "panels", size_t max_shard_bytes = size_t(5) << 30);

}  // namespace llada
