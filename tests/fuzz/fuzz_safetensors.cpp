// Fuzz target for the safetensors parser (SafetensorsFile::validate_buffer).
//
// Properties checked on every input:
//  1. the parser never crashes, hangs, leaks or reads out of bounds (ASan/UBSan), and reports bad
//     input only as llada::Error (any other exception escapes and is a finding);
//  2. when it accepts a buffer, every tensor it accepted really lies inside the buffer: this target
//     re-reads the header on its own and touches every byte of every tensor, so a validator that
//     lets a lying offset through shows up as a heap-buffer-overflow.
// Built with libFuzzer under clang, or with standalone_driver.cpp elsewhere (see README.md).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    llada::SafetensorsFile::validate_buffer(data, size, "fuzz-input");
  } catch (const llada::Error&) {
    return 0;  // rejected cleanly
  }
  // Accepted: the independent oracle.
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | data[i];
  if (hlen > size - 8) __builtin_trap();
  auto h = nlohmann::json::parse(data + 8, data + 8 + hlen);  // must not throw: it was accepted
  const uint8_t* base = data + 8 + hlen;
  volatile uint8_t sink = 0;
  for (auto it = h.begin(); it != h.end(); ++it) {
    if (it.key() == "__metadata__") continue;
    const uint64_t b = it.value()["data_offsets"][0].get<uint64_t>();
    const uint64_t e = it.value()["data_offsets"][1].get<uint64_t>();
    if (b > e || e > size - 8 - hlen) __builtin_trap();
    for (uint64_t k = b; k < e; ++k) sink = sink ^ base[k];
  }
  (void)sink;
  return 0;
}
