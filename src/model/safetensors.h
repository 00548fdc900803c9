// safetensors: an 8-byte little-endian header length, a JSON header mapping tensor names to
// {dtype, shape, data_offsets}, then the raw data. Reading memory-maps the file and checks every
// field, size and offset before any byte is trusted; errors name the file and the tensor.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/file_io.h"
#include "core/tensor.h"

namespace llada {

struct SafetensorsFile {
  std::string path;
  std::shared_ptr<MappedFile> file;
  std::map<std::string, Tensor> tensors;      // data points into the mapping (keepalive = file)
  std::map<std::string, std::string> metadata;  // "__metadata__"

  static SafetensorsFile open(const std::string& path);             // mmap + validate
  static SafetensorsFile parse(std::shared_ptr<MappedFile> file);   // validate a mapping
  // Validate from a raw buffer (the fuzz target's entry point); throws llada::Error on bad input.
  static void validate_buffer(const uint8_t* data, size_t size, const std::string& name);
};

// Write tensors (any dtype; data converted from each tensor's dtype to `dtype` when they differ and
// both are float types) atomically to `path`.
void write_safetensors(const std::string& path, const std::vector<const Tensor*>& tensors,
                       DType dtype, const std::map<std::string, std::string>& metadata = {});

}  // namespace llada
