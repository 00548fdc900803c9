// Quantized inference weights: int8 matrices with one F32 scale per output channel.
//
// Which tensors: the linear layers and an untied head, i.e. what the packed kernels multiply. The
// embedding is a row lookup (and, when tied, also the head): it stays float (BF16), as do the norms.
// Scheme (the same rule the kernels apply to activations, kernels/packed_matmul.h): for each row
// w, scale = max|w| / 127 and q = round-half-even(w * (127 / max|w|)) in [-127, 127]; a zero row
// has scale 0. Stored in safetensors as `NAME` (I8, the matrix's shape) and `NAME_scale` (F32,
// [rows]), with "quantization_config" in config.json (model/config.h).
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"
#include "model/model.h"

namespace llada {

// Whether a quantized model stores this tensor as int8.
bool is_quantized_role(const WeightInfo& info);
// The name of a quantized matrix's scale tensor.
std::string scale_name(const std::string& weight_name);
// Rows of W (F32 or BF16, [rows, cols]) quantized: q [rows * cols], scales [rows].
void quantize_rows_int8(const Tensor& W, int8_t* q, float* scales);
// Writes `m` to `dir` with the scheme ("int8"): config.json (with quantization_config) and
// model.safetensors (sharded above max_shard_bytes), atomically. The model must hold float weights.
void save_quantized(const std::string& dir, const Model& m, const std::string& scheme,
                    size_t max_shard_bytes = size_t(5) << 30);

}  // namespace llada
