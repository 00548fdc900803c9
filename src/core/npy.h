// NumPy .npy files (version 1.0, little-endian, C order): the exchange format with the PyTorch
// reference scripts and the output of `llada logits`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace llada {

struct NpyArray {
  std::vector<int64_t> shape;
  std::string descr;         // "<f4", "<i4", "<i8", "|u1", "<f8"
  std::vector<uint8_t> data;  // raw little-endian bytes
  int64_t numel() const;
  std::vector<float> as_f32() const;     // from <f4 or <f8
  std::vector<int64_t> as_i64() const;   // from <i4, <i8 or |u1
};

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void write_npy_i32(const std::string& path, const int32_t* data, const std::vector<int64_t>& shape);
NpyArray read_npy(const std::string& path);  // throws llada::Error naming the path on bad input

}  // namespace llada
