// `llada info`: validate a model directory fully (config, every tensor's shape, dtype and offsets)
// and describe it: configuration, tensors, storage dtypes, parameter count.
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "command.h"
#include "core/error.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "model/weights_io.h"

namespace {

using json = nlohmann::json;

std::string with_commas(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string human_bytes(size_t b) {
  if (b >= size_t(1) << 30) return llada::strformat("%.2f GB", double(b) / 1e9);
  if (b >= size_t(1) << 20) return llada::strformat("%.1f MB", double(b) / 1e6);
  return llada::strformat("%.1f KB", double(b) / 1e3);
}

std::string dtype_counts(const std::map<std::string, int>& m) {
  std::string s;
  for (auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k + " x" + std::to_string(v);
  return s;
}

int run_info(const std::string& dir, bool as_json) {
  using namespace llada;
  ModelConfig cfg;
  Weights w;
  load_model_dir(dir, &cfg, &w);  // validates everything; matrices stay memory-mapped

  // What the files hold (before any widening), straight from their headers.
  WeightFiles wf = find_weight_files(dir);
  std::map<std::string, int> file_dtypes;
  std::map<std::string, std::string> file_dtype_of;
  size_t file_bytes = 0;
  for (const std::string& f : wf.files) {
    SafetensorsFile st = SafetensorsFile::open(f);
    file_bytes += st.file->size();
    for (auto& [name, t] : st.tensors) {
      ++file_dtypes[dtype_name(t.dtype)];
      file_dtype_of[name] = dtype_name(t.dtype);
    }
  }
  std::vector<const Tensor*> tensors;
  w.for_each([&](const Tensor& t) { tensors.push_back(&t); });
  const int64_t n_params = cfg.n_params();

  if (as_json) {
    json j;
    j["model_dir"] = dir;
    j["config"] = cfg.to_json();
    j["n_params"] = n_params;
    j["n_tensors"] = tensors.size();
    j["head_dim"] = cfg.head_dim();
    json files = json::array();
    for (const std::string& f : wf.files)
      files.push_back(std::filesystem::path(f).filename().string());
    j["files"] = files;
    j["sharded"] = !wf.index.empty();
    j["file_bytes"] = file_bytes;
    j["file_dtypes"] = file_dtypes;
    json list = json::array();
    for (const Tensor* t : tensors)
      list.push_back({{"name", t->name},
                      {"shape", t->shape},
                      {"file_dtype", file_dtype_of[t->name]},
                      {"dtype", dtype_name(t->dtype)}});
    j["tensors"] = list;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  std::printf("model: %s\n", dir.c_str());
  std::printf(
      "  d_model %lld, n_layers %lld, n_heads %lld, n_kv_heads %lld (head_dim %lld), "
      "mlp_hidden_size %lld\n",
      (long long)cfg.d_model, (long long)cfg.n_layers, (long long)cfg.n_heads,
      (long long)cfg.n_kv_heads, (long long)cfg.head_dim(), (long long)cfg.mlp_hidden_size);
  std::printf(
      "  vocab_size %lld, embedding_size %lld, max_sequence_length %lld, rope_theta %g, "
      "rms_norm_eps %g\n",
      (long long)cfg.vocab_size, (long long)cfg.embedding_size, (long long)cfg.max_sequence_length,
      cfg.rope_theta, cfg.rms_norm_eps);
  auto id = [](int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
  std::printf("  weight_tying %s, %s; tokens: mask %s, eos %s, pad %s, bos %s, eot %s\n",
              cfg.weight_tying ? "true" : "false",
              cfg.causal ? "causal (autoregressive baseline)" : "bidirectional (diffusion)",
              id(cfg.mask_token_id).c_str(), id(cfg.eos_token_id).c_str(),
              id(cfg.pad_token_id).c_str(), id(cfg.bos_token_id).c_str(),
              id(cfg.eot_token_id).c_str());
  if (cfg.quantization == "q4")
    std::printf("  quantized: 4-bit matrices, a BF16 scale per group of 32 inputs, in the kernels' layout "
                "(inference only)\n");
  else if (!cfg.quantization.empty())
    std::printf("  quantized: %s matrices with one scale per output channel, %s layout (inference only)\n",
                cfg.quantization.c_str(), cfg.quant_layout.c_str());
  std::printf("parameters: %s (%s)\n", with_commas(n_params).c_str(),
              n_params >= 1000000000 ? strformat("%.2f B", double(n_params) / 1e9).c_str()
                                     : strformat("%.2f M", double(n_params) / 1e6).c_str());
  std::printf("weights: %zu tensors in %zu file%s%s, %s on disk; file dtypes: %s\n", tensors.size(),
              wf.files.size(), wf.files.size() == 1 ? "" : "s",
              wf.index.empty() ? "" : " (sharded, with index)", human_bytes(file_bytes).c_str(),
              dtype_counts(file_dtypes).c_str());
  // The list, with the layers folded: every block has the same shapes.
  for (const Tensor* t : tensors) {
    const bool block = t->name.find(".blocks.") != std::string::npos;
    if (block && t->name.find(".blocks.0.") == std::string::npos) continue;
    std::printf("  %-48s %-14s %s\n", t->name.c_str(), t->shape_str().c_str(),
                file_dtype_of[t->name].c_str());
  }
  if (cfg.n_layers > 1)
    std::printf("  (blocks 1..%lld: same shapes as block 0)\n", (long long)cfg.n_layers - 1);
  return 0;
}

llada::cli::Registration reg(
    "info",
    "Validate a model directory and print its configuration, "
    "tensors and parameter count",
    [](CLI::App& app) {
      auto dir = std::make_shared<std::string>();
      auto as_json = std::make_shared<bool>(false);
      app.add_option("--model", *dir, "model directory (config.json + model.safetensors or shards)")
          ->required();
      app.add_flag("--json", *as_json, "print one JSON object instead of text");
      return [=]() -> int { return run_info(*dir, *as_json); };
    });

}  // namespace
