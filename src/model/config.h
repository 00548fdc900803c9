// The model configuration: the source of truth for every size, read from and written to a
// Hugging Face LLaDA config.json (spec section 1). Parsing validates it: unknown architecture
// strings, missing or inconsistent sizes are errors that name the file and field.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace llada {

struct ModelConfig {
  int64_t d_model = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t mlp_hidden_size = 0;
  int64_t vocab_size = 0;        // tokens the tokenizer produces
  int64_t embedding_size = 0;    // rows of wte / the head (>= vocab_size, padded)
  int64_t max_sequence_length = 4096;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-5;
  bool weight_tying = false;
  int64_t mask_token_id = -1;
  int64_t eos_token_id = -1;
  int64_t pad_token_id = -1;
  int64_t bos_token_id = -1;     // optional (-1: none)
  int64_t eot_token_id = -1;     // optional: end-of-turn, from tokenizer files when absent here
  bool causal = false;           // true only for the autoregressive baseline (our extension key)
  // Quantized inference weights (model/quantize.h): "" for float weights, "q4" for 4-bit groups, "int8" for int8 matrices
  // with one F32 scale per output channel. From "quantization_config": {"quant_method": "llada",
  // "weight_dtype": "int8", "layout": "panels"}.
  std::string quantization;
  // How the int8 matrices are stored: "rows" (the matrix's own [rows, cols] layout, packed at load;
  // the default when the field is absent) or "panels" (the kernels' layout, used in place).
  std::string quant_layout;

  int64_t head_dim() const { return d_model / n_heads; }
  int64_t kv_dim() const { return n_kv_heads * head_dim(); }
  int64_t n_params() const;      // every weight tensor, head counted once when tied

  // Throws llada::Error naming `source` (a path) and the field on any problem.
  static ModelConfig from_json(const nlohmann::json& j, const std::string& source);
  static ModelConfig load(const std::string& path);  // reads a config.json
  void validate(const std::string& source) const;
  nlohmann::json to_json() const;  // the full HF LLaDA config.json (architecture keys included)
};

}  // namespace llada
