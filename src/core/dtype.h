// Storage dtypes and conversions. Compute is f32; weights may be stored f32, bf16, f16, or int8
// with per-row scales (quantized inference weights, model/quantize.h).
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace llada {

// I8: quantized weights. Q4: 4-bit weights, only as the dtype of a packed matrix and of the model
// tensor that stands for it (its bytes are the packed panels, not numel() of anything; never a
// file dtype: a q4 directory stores U8 panels).
enum class DType : uint8_t { F32, BF16, F16, I32, I64, U8, I8, Q4 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);          // safetensors spelling: "F32", "BF16", ...
bool dtype_from_name(const std::string& s, DType* out);

using bf16_t = uint16_t;
using f16_t = uint16_t;

inline float bf16_to_f32(bf16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, NaN kept quiet (same as PyTorch's float->bfloat16).
inline bf16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return bf16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16_t(u >> 16);
}

float f16_to_f32(f16_t h);
f16_t f32_to_f16(float f);

// Bulk conversions (vectorised where the compiler can).
void convert_to_f32(float* dst, const void* src, DType src_type, size_t n);
void convert_from_f32(void* dst, DType dst_type, const float* src, size_t n);

}  // namespace llada
