// Where a model directory keeps its weights: model.safetensors, or shards listed by
// model.safetensors.index.json. Shared by the loader (weights_io.cpp) and `llada info`.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "model/config.h"
#include "model/weights.h"

namespace llada {

// Weights built from tensors given in weight_layout(cfg) order (moved in; names must match).
Weights weights_from_list(const ModelConfig& cfg, std::vector<Tensor>&& tensors);

struct WeightFiles {
  std::vector<std::string> files;                 // full paths, in order (shards sorted by name)
  std::string index;                              // path of the index; empty for a single file
  std::map<std::string, std::string> weight_map;  // tensor -> file name (index only)
};

// Throws llada::Error naming the directory or the index (missing directory, no weights, malformed
// index, a shard name that escapes the directory).
WeightFiles find_weight_files(const std::string& dir);

// Writes `tensors` into dir as model.safetensors, or as shards of at most max_shard_bytes with
// model.safetensors.index.json, each file atomically, removing the files of an earlier save that
// would shadow them. Float tensors are stored in `dtype` when it is a float type; every other
// tensor (and every tensor when `dtype` is not a float type) keeps its own dtype.
void write_weight_files(const std::string& dir, const std::vector<const Tensor*>& tensors, DType dtype,
                        size_t max_shard_bytes);

}  // namespace llada
