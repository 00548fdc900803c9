// ModelConfig <-> Hugging Face LLaDA config.json.
//
// LLaDA's configuration_llada.py is OLMo's ModelConfig: its dataclass defaults describe a
// GPT-2-like model (gelu, "sequential" blocks, LayerNorm, biases, no RoPE, tied head). We implement
// only the LLaDA architecture, so when an architecture key is ABSENT we take LLaDA-8B's value
// (never the OLMo default), and when it is PRESENT it must describe that architecture or loading
// fails. to_json() writes every key explicitly, so the HF loader never falls back to its defaults
// for our files.
#include "model/config.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/file_io.h"

namespace llada {
namespace {

using json = nlohmann::json;

// Upper bounds that keep every size product far from int64 overflow (2^24 * 2^24 * 2^12 < 2^63).
constexpr int64_t kMaxDim = int64_t(1) << 24;
constexpr int64_t kMaxLayers = 4096;

const char* type_name(const json& v) { return v.type_name(); }

bool present(const json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

int64_t get_int(const json& j, const char* key, const std::string& src) {
  const json& v = j.at(key);
  // Accept 4.0 (some writers emit floats) but never 4.5 or "4".
  if (v.is_number_unsigned()) {
    LLADA_CHECK(v.get<uint64_t>() <= uint64_t(INT64_MAX), "%s: field '%s' is %s, far too large",
                src.c_str(), key, v.dump().c_str());
    return int64_t(v.get<uint64_t>());
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    LLADA_CHECK(std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15,
                "%s: field '%s' must be an integer, found %s", src.c_str(), key, v.dump().c_str());
    return int64_t(d);
  }
  fail(strformat("%s: field '%s' must be an integer, found %s %s", src.c_str(), key, type_name(v),
                 v.dump().c_str()));
}

int64_t req_int(const json& j, const char* key, const std::string& src) {
  LLADA_CHECK(present(j, key), "%s: required field '%s' is missing", src.c_str(), key);
  return get_int(j, key, src);
}

int64_t opt_int(const json& j, const char* key, int64_t def, const std::string& src) {
  return present(j, key) ? get_int(j, key, src) : def;
}

double opt_num(const json& j, const char* key, double def, const std::string& src) {
  if (!present(j, key)) return def;
  const json& v = j.at(key);
  LLADA_CHECK(v.is_number(), "%s: field '%s' must be a number, found %s %s", src.c_str(), key,
              type_name(v), v.dump().c_str());
  return v.get<double>();
}

bool opt_bool(const json& j, const char* key, bool def, const std::string& src) {
  if (!present(j, key)) return def;
  const json& v = j.at(key);
  LLADA_CHECK(v.is_boolean(), "%s: field '%s' must be true or false, found %s %s", src.c_str(), key,
              type_name(v), v.dump().c_str());
  return v.get<bool>();
}

// An architecture switch that must have exactly one value (absent = that value).
void expect_bool(const json& j, const char* key, bool want, const std::string& src,
                 const char* why) {
  bool v = opt_bool(j, key, want, src);
  LLADA_CHECK(v == want, "%s: field '%s' is %s, but only %s is supported (%s)", src.c_str(), key,
              v ? "true" : "false", want ? "true" : "false", why);
}

void expect_string(const json& j, const char* key, std::initializer_list<const char*> allowed,
                   const std::string& src, const char* why) {
  if (!present(j, key)) return;
  const json& v = j.at(key);
  LLADA_CHECK(v.is_string(), "%s: field '%s' must be a string, found %s %s", src.c_str(), key,
              type_name(v), v.dump().c_str());
  const std::string s = v.get<std::string>();
  std::string list;
  for (const char* a : allowed) {
    if (s == a) return;
    list += std::string(list.empty() ? "" : " or ") + "\"" + a + "\"";
  }
  fail(strformat("%s: field '%s' is \"%s\", but only %s is supported (%s)", src.c_str(), key,
                 s.c_str(), list.c_str(), why));
}

void expect_zero(const json& j, const char* key, const std::string& src) {
  double v = opt_num(j, key, 0.0, src);
  LLADA_CHECK(v == 0.0, "%s: field '%s' is %g, but dropout is not supported (must be 0)",
              src.c_str(), key, v);
}

}  // namespace

ModelConfig ModelConfig::from_json(const json& j, const std::string& src) {
  LLADA_CHECK(j.is_object(), "%s: a config must be a JSON object, found %s", src.c_str(),
              type_name(j));
  if (present(j, "model_type")) {
    const json& mt = j.at("model_type");
    LLADA_CHECK(mt.is_string() && mt.get<std::string>() == "llada",
                "%s: field 'model_type' is %s, expected \"llada\"", src.c_str(), mt.dump().c_str());
  }

  // The architecture: everything LLaDA's "llama" block does, and nothing it can be configured to do
  // that this engine does not implement.
  expect_string(j, "block_type", {"llama"}, src,
                "LLaDA checkpoints use separate q/k/v/ff/up projections; other block types name "
                "their tensors differently");
  // "swiglu" in a llama block would split ff_proj's output in half (OLMo's SwiGLU), which is not
  // the silu(gate) * up that LLaDA computes, so it is rejected rather than silently mis-run.
  expect_string(j, "activation_type", {"silu"}, src, "the llama block computes silu(gate) * up");
  expect_string(j, "layer_norm_type", {"rms"}, src, "RMSNorm with a weight");
  expect_bool(j, "layer_norm_with_affine", true, src, "norms have weights");
  expect_bool(j, "bias_for_layer_norm", false, src, "no biases");
  expect_bool(j, "include_bias", false, src, "no biases");
  expect_bool(j, "include_qkv_bias", false, src, "no biases");
  expect_bool(j, "rope", true, src, "positions are encoded by RoPE");
  expect_bool(j, "alibi", false, src, "positions are encoded by RoPE");
  expect_bool(j, "attention_layer_norm", false, src, "no QK-norm");
  expect_bool(j, "input_emb_norm", false, src, "no input-embedding norm");
  expect_bool(j, "scale_logits", false, src, "no logit scaling");
  opt_bool(j, "flash_attention", false, src);  // an implementation switch: type-checked only
  if (present(j, "block_group_size")) {
    int64_t g = get_int(j, "block_group_size", src);
    LLADA_CHECK(g == 1,
                "%s: field 'block_group_size' is %lld, but only 1 is supported (grouped "
                "blocks are stored under different tensor names)",
                src.c_str(), (long long)g);
  }
  if (present(j, "rope_scaling")) {
    fail(strformat("%s: field 'rope_scaling' is set (%s), but RoPE scaling is not supported",
                   src.c_str(), j.at("rope_scaling").dump().c_str()));
  }
  expect_zero(j, "attention_dropout", src);
  expect_zero(j, "residual_dropout", src);
  expect_zero(j, "embedding_dropout", src);

  ModelConfig c;
  c.d_model = req_int(j, "d_model", src);
  c.n_layers = req_int(j, "n_layers", src);
  c.n_heads = req_int(j, "n_heads", src);
  // OLMo: n_kv_heads null means n_heads, multi_query_attention means one kv head.
  bool mqa = opt_bool(j, "multi_query_attention", false, src);
  c.n_kv_heads = opt_int(j, "n_kv_heads", mqa ? 1 : c.n_heads, src);
  LLADA_CHECK(!mqa || c.n_kv_heads == 1,
              "%s: field 'multi_query_attention' is true but 'n_kv_heads' is %lld (expected 1)",
              src.c_str(), (long long)c.n_kv_heads);
  if (present(j, "mlp_hidden_size")) {
    c.mlp_hidden_size = get_int(j, "mlp_hidden_size", src);
  } else {
    LLADA_CHECK(present(j, "mlp_ratio"),
                "%s: required field 'mlp_hidden_size' is missing (and no 'mlp_ratio' either)",
                src.c_str());
    c.mlp_hidden_size = get_int(j, "mlp_ratio", src) * c.d_model;
  }
  c.vocab_size = req_int(j, "vocab_size", src);
  c.embedding_size = opt_int(j, "embedding_size", c.vocab_size, src);
  c.max_sequence_length = opt_int(j, "max_sequence_length", 4096, src);
  c.rope_theta = opt_num(j, "rope_theta", 10000.0, src);
  c.rms_norm_eps = opt_num(j, "rms_norm_eps", 1e-5, src);
  c.weight_tying = opt_bool(j, "weight_tying", false, src);
  c.causal = opt_bool(j, "causal", false, src);
  // The diffusion model cannot run without a mask token; the autoregressive baseline needs none.
  c.mask_token_id =
      c.causal ? opt_int(j, "mask_token_id", -1, src) : req_int(j, "mask_token_id", src);
  c.eos_token_id = opt_int(j, "eos_token_id", -1, src);
  c.pad_token_id = opt_int(j, "pad_token_id", c.eos_token_id, src);
  c.bos_token_id = opt_int(j, "bos_token_id", -1, src);
  c.eot_token_id = opt_int(j, "eot_token_id", -1, src);
  if (present(j, "quantization_config")) {
    const json& q = j["quantization_config"];
    LLADA_CHECK(q.is_object(), "%s: field 'quantization_config' must be an object", src.c_str());
    const std::string method = q.contains("quant_method") && q["quant_method"].is_string()
                                   ? q["quant_method"].get<std::string>() : "";
    LLADA_CHECK(method == "llada", "%s: field 'quantization_config.quant_method' is '%s': only 'llada' "
                "(written by `llada quantize`) is supported", src.c_str(), method.c_str());
    const std::string wd = q.contains("weight_dtype") && q["weight_dtype"].is_string()
                               ? q["weight_dtype"].get<std::string>() : "";
    LLADA_CHECK(wd == "int8" || wd == "q4", "%s: field 'quantization_config.weight_dtype' is '%s': the supported "
                "schemes are 'int8' (per output channel scales) and 'q4' (groups of 32 with a BF16 scale)",
                src.c_str(), wd.c_str());
    c.quantization = wd;
    const std::string layout = !q.contains("layout") ? (wd == "q4" ? "panels" : "rows")
                               : q["layout"].is_string() ? q["layout"].get<std::string>() : "";
    LLADA_CHECK(layout == "panels" || (layout == "rows" && wd == "int8"),
                "%s: field 'quantization_config.layout' is '%s': expected %s", src.c_str(), layout.c_str(),
                wd == "int8" ? "'rows' (row-major int8 matrices) or 'panels' (the kernels' layout)"
                             : "'panels' (q4 weights are stored in the kernels' layout only)");
    if (wd == "q4") {
      const json gs = q.contains("group_size") ? q["group_size"] : json(32);
      LLADA_CHECK(gs.is_number_integer() && gs.get<int64_t>() == 32,
                  "%s: field 'quantization_config.group_size' is %s: q4 weights use groups of 32", src.c_str(),
                  gs.dump().c_str());
    }
    c.quant_layout = layout;
  }
  c.validate(src);
  return c;
}

ModelConfig ModelConfig::load(const std::string& path) {
  LLADA_CHECK(file_exists(path), "%s: config file not found", path.c_str());
  std::string text = read_file(path);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  LLADA_CHECK(!j.is_discarded(), "%s: malformed JSON (not a valid config.json)", path.c_str());
  return from_json(j, path);
}

void ModelConfig::validate(const std::string& src) const {
  const char* s = src.c_str();
  auto in_range = [&](const char* field, int64_t v, int64_t lo, int64_t hi) {
    LLADA_CHECK(v >= lo && v <= hi, "%s: field '%s' is %lld, expected %lld..%lld", s, field,
                (long long)v, (long long)lo, (long long)hi);
  };
  in_range("d_model", d_model, 1, kMaxDim);
  in_range("n_layers", n_layers, 1, kMaxLayers);
  in_range("n_heads", n_heads, 1, d_model);
  in_range("n_kv_heads", n_kv_heads, 1, n_heads);
  in_range("mlp_hidden_size", mlp_hidden_size, 1, kMaxDim);
  in_range("vocab_size", vocab_size, 1, kMaxDim);
  in_range("max_sequence_length", max_sequence_length, 1, kMaxDim);
  LLADA_CHECK(d_model % n_heads == 0,
              "%s: field 'd_model' (%lld) is not divisible by 'n_heads' (%lld)", s,
              (long long)d_model, (long long)n_heads);
  LLADA_CHECK(n_heads % n_kv_heads == 0,
              "%s: field 'n_heads' (%lld) is not divisible by 'n_kv_heads' (%lld)", s,
              (long long)n_heads, (long long)n_kv_heads);
  LLADA_CHECK(head_dim() % 2 == 0,
              "%s: head dimension d_model/n_heads = %lld is odd; rotate-half RoPE needs it even", s,
              (long long)head_dim());
  LLADA_CHECK(embedding_size >= vocab_size && embedding_size <= kMaxDim,
              "%s: field 'embedding_size' is %lld, expected vocab_size (%lld)..%lld", s,
              (long long)embedding_size, (long long)vocab_size, (long long)kMaxDim);
  LLADA_CHECK(std::isfinite(rope_theta) && rope_theta > 0.0,
              "%s: field 'rope_theta' is %g, expected a finite number > 0", s, rope_theta);
  LLADA_CHECK(std::isfinite(rms_norm_eps) && rms_norm_eps > 0 && rms_norm_eps < 1,
              "%s: field 'rms_norm_eps' is %g, expected 0 < eps < 1", s, rms_norm_eps);
  // Each size is bounded above, but their products are not: keep the parameter count (and with it
  // every allocation size) far from int64 overflow. 2^44 parameters is 17.6 T.
  const double params = double(embedding_size) * double(d_model) * 2 +
                        double(n_layers) * (4.0 * double(d_model) * double(d_model) +
                                            3.0 * double(mlp_hidden_size) * double(d_model));
  LLADA_CHECK(params < 0x1p44,
              "%s: the sizes describe a model of %.3g parameters, more than this "
              "engine supports (2^44)",
              s, params);
  auto token = [&](const char* field, int64_t id, bool required) {
    if (id == -1 && !required) return;
    LLADA_CHECK(id >= 0 && id < embedding_size,
                "%s: field '%s' is %lld, outside the embedding (0..%lld)", s, field, (long long)id,
                (long long)embedding_size - 1);
  };
  token("mask_token_id", mask_token_id, !causal);
  token("eos_token_id", eos_token_id, false);
  token("pad_token_id", pad_token_id, false);
  token("bos_token_id", bos_token_id, false);
  token("eot_token_id", eot_token_id, false);
}

int64_t ModelConfig::n_params() const {
  const int64_t C = d_model, F = mlp_hidden_size, KV = kv_dim(), Ve = embedding_size;
  const int64_t per_layer = 2 * C + 2 * C * C + 2 * KV * C + 3 * F * C;
  return Ve * C * (weight_tying ? 1 : 2) + n_layers * per_layer + C;
}

json ModelConfig::to_json() const {
  json j;
  // What the HF loader needs to find the model class (trust_remote_code with LLaDA's files).
  j["architectures"] = {"LLaDAModelLM"};
  j["model_type"] = "llada";
  j["auto_map"] = {{"AutoConfig", "configuration_llada.LLaDAConfig"},
                   {"AutoModel", "modeling_llada.LLaDAModelLM"},
                   {"AutoModelForCausalLM", "modeling_llada.LLaDAModelLM"}};
  // The architecture, spelled out so OLMo's defaults never apply.
  j["block_type"] = "llama";
  j["activation_type"] = "silu";
  j["layer_norm_type"] = "rms";
  j["layer_norm_with_affine"] = true;
  j["bias_for_layer_norm"] = false;
  j["include_bias"] = false;
  j["include_qkv_bias"] = false;
  j["rope"] = true;
  j["rope_full_precision"] = true;
  j["alibi"] = false;
  j["alibi_bias_max"] = 8.0;
  j["attention_layer_norm"] = false;
  j["attention_layer_norm_with_affine"] = true;
  j["input_emb_norm"] = false;
  j["scale_logits"] = false;
  j["flash_attention"] = false;
  j["multi_query_attention"] = nullptr;
  j["block_group_size"] = 1;
  j["attention_dropout"] = 0.0;
  j["residual_dropout"] = 0.0;
  j["embedding_dropout"] = 0.0;
  j["use_cache"] = false;
  j["init_fn"] = "mitchell";
  j["init_std"] = 0.02;
  j["init_device"] = "meta";
  j["init_cutoff_factor"] = nullptr;
  j["precision"] = "amp_bf16";
  // The sizes.
  j["d_model"] = d_model;
  j["n_layers"] = n_layers;
  j["n_heads"] = n_heads;
  j["n_kv_heads"] = n_kv_heads;
  j["mlp_hidden_size"] = mlp_hidden_size;
  // OLMo computes mlp_hidden_size from mlp_ratio only when the size is null; write the ratio anyway
  // (rounded) because its init code reads it.
  j["mlp_ratio"] = std::max<int64_t>(1, mlp_hidden_size / d_model);
  j["vocab_size"] = vocab_size;
  j["embedding_size"] = embedding_size;
  j["max_sequence_length"] = max_sequence_length;
  j["rope_theta"] = rope_theta;
  j["rms_norm_eps"] = rms_norm_eps;
  j["weight_tying"] = weight_tying;
  j["mask_token_id"] = mask_token_id;
  j["eos_token_id"] = eos_token_id;
  j["pad_token_id"] = pad_token_id;
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eot_token_id >= 0) j["eot_token_id"] = eot_token_id;
  if (causal) j["causal"] = true;
  if (quantization == "int8")
    j["quantization_config"] = {{"quant_method", "llada"}, {"weight_dtype", quantization},
                                {"scales", "per_output_channel"},
                                {"layout", quant_layout.empty() ? "rows" : quant_layout}};
  else if (!quantization.empty())
    j["quantization_config"] = {{"quant_method", "llada"}, {"weight_dtype", quantization},
                                {"group_size", 32}, {"scales", "bf16_per_group"}, {"layout", "panels"}};
  return j;
}

}  // namespace llada
