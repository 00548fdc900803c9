// ModelConfig: the real LLaDA-8B config.json parses to the spec's numbers; to_json round-trips;
// every unsupported or inconsistent field is an error naming the file and the field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "model/config.h"

namespace llada {
namespace {

using json = nlohmann::json;

// GSAI-ML/LLaDA-8B-Base config.json (the keys and values of the released file).
const char* kLLaDA8B = R"({
  "activation_type": "silu", "alibi": false, "alibi_bias_max": 8.0, "architectures": ["LLaDAModelLM"],
  "attention_dropout": 0.0, "attention_layer_norm": false, "attention_layer_norm_with_affine": true,
  "auto_map": {"AutoConfig": "configuration_llada.LLaDAConfig",
               "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM",
               "AutoModel": "modeling_llada.LLaDAModelLM"},
  "bias_for_layer_norm": false, "block_group_size": 1, "block_type": "llama", "d_model": 4096,
  "embedding_dropout": 0.0, "embedding_size": 126464, "eos_token_id": 126081, "flash_attention": false,
  "include_bias": false, "include_qkv_bias": false, "init_cutoff_factor": null, "init_device": "meta",
  "init_fn": "mitchell", "init_std": 0.02, "input_emb_norm": false, "layer_norm_type": "rms",
  "layer_norm_with_affine": true, "mask_token_id": 126336, "max_sequence_length": 4096,
  "mlp_hidden_size": 12288, "mlp_ratio": 4, "model_type": "llada", "multi_query_attention": null,
  "n_heads": 32, "n_kv_heads": 32, "n_layers": 32, "pad_token_id": 126081, "precision": "amp_bf16",
  "residual_dropout": 0.0, "rms_norm_eps": 1e-05, "rope": true, "rope_full_precision": true,
  "rope_theta": 500000.0, "scale_logits": false, "transformers_version": "4.46.3", "use_cache": false,
  "vocab_size": 126464, "weight_tying": false
})";

json tiny() {
  return json{{"d_model", 32},         {"n_layers", 2},         {"n_heads", 4},
              {"n_kv_heads", 2},       {"mlp_hidden_size", 48}, {"vocab_size", 100},
              {"embedding_size", 128}, {"mask_token_id", 99},   {"eos_token_id", 98},
              {"rope_theta", 10000.0}};
}

// from_json(j) must fail with a message naming the source and each needle.
void expect_error(const json& j, std::initializer_list<std::string> needles) {
  try {
    ModelConfig::from_json(j, "cfgsrc.json");
    ADD_FAILURE() << "accepted: " << j.dump();
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("cfgsrc.json"), std::string::npos) << msg;
    for (const std::string& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << msg << "\n  lacks: " << n;
  }
}

json with(json j, const std::string& key, json v) {
  j[key] = std::move(v);
  return j;
}
json without(json j, const std::string& key) {
  j.erase(key);
  return j;
}

TEST(Config, RealLLaDA8BConfig) {
  ModelConfig c = ModelConfig::from_json(json::parse(kLLaDA8B), "LLaDA-8B/config.json");
  EXPECT_EQ(c.d_model, 4096);
  EXPECT_EQ(c.n_layers, 32);
  EXPECT_EQ(c.n_heads, 32);
  EXPECT_EQ(c.n_kv_heads, 32);
  EXPECT_EQ(c.mlp_hidden_size, 12288);
  EXPECT_EQ(c.vocab_size, 126464);
  EXPECT_EQ(c.embedding_size, 126464);
  EXPECT_EQ(c.mask_token_id, 126336);
  EXPECT_EQ(c.eos_token_id, 126081);
  EXPECT_EQ(c.pad_token_id, 126081);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_FALSE(c.weight_tying);
  EXPECT_FALSE(c.causal);
  EXPECT_EQ(c.head_dim(), 128);
  // Spec: 8.02 B parameters (16.03 GB in BF16).
  EXPECT_EQ(c.n_params(), 8015581184);
}

TEST(Config, ToJsonRoundTripsAndDescribesTheArchitecture) {
  ModelConfig c =
      ModelConfig::from_json(with(with(tiny(), "bos_token_id", 1), "causal", true), "t");
  json j = c.to_json();
  EXPECT_EQ(j["architectures"], json::array({"LLaDAModelLM"}));
  EXPECT_EQ(j["model_type"], "llada");
  EXPECT_EQ(j["block_type"], "llama");
  EXPECT_EQ(j["activation_type"], "silu");
  EXPECT_EQ(j["layer_norm_type"], "rms");
  EXPECT_EQ(j["include_bias"], false);
  EXPECT_EQ(j["rope"], true);
  EXPECT_EQ(j["weight_tying"], false);
  EXPECT_EQ(j["causal"], true);
  ModelConfig d = ModelConfig::from_json(json::parse(j.dump()), "t2");
  EXPECT_EQ(d.to_json(), j);
  EXPECT_EQ(d.n_kv_heads, 2);
  EXPECT_EQ(d.embedding_size, 128);
  EXPECT_EQ(d.bos_token_id, 1);
  EXPECT_TRUE(d.causal);
}

TEST(Config, DefaultsAndAlternatives) {
  // n_kv_heads null -> n_heads; mlp_ratio when mlp_hidden_size is absent; embedding_size -> vocab.
  json j =
      without(without(with(tiny(), "n_kv_heads", nullptr), "mlp_hidden_size"), "embedding_size");
  j["mlp_ratio"] = 3;
  j["mask_token_id"] = 10;
  ModelConfig c = ModelConfig::from_json(j, "t");
  EXPECT_EQ(c.n_kv_heads, 4);
  EXPECT_EQ(c.mlp_hidden_size, 96);
  EXPECT_EQ(c.embedding_size, 100);
  EXPECT_EQ(c.pad_token_id, 98);  // pad defaults to eos
  EXPECT_EQ(ModelConfig::from_json(
                with(without(tiny(), "n_kv_heads"), "multi_query_attention", true), "t")
                .n_kv_heads,
            1);
  // The autoregressive baseline needs no mask token.
  ModelConfig ar =
      ModelConfig::from_json(with(without(tiny(), "mask_token_id"), "causal", true), "t");
  EXPECT_TRUE(ar.causal);
  EXPECT_EQ(ar.mask_token_id, -1);
  // Tied head counted once.
  ModelConfig tied = ModelConfig::from_json(with(tiny(), "weight_tying", true), "t");
  ModelConfig untied = ModelConfig::from_json(tiny(), "t");
  EXPECT_EQ(untied.n_params() - tied.n_params(), 128 * 32);
}

TEST(ConfigBad, MissingAndMistypedFields) {
  expect_error(without(tiny(), "d_model"), {"'d_model'", "missing"});
  expect_error(without(tiny(), "vocab_size"), {"'vocab_size'"});
  expect_error(without(tiny(), "mask_token_id"), {"'mask_token_id'"});
  expect_error(without(tiny(), "mlp_hidden_size"), {"'mlp_hidden_size'"});
  expect_error(with(tiny(), "d_model", "32"), {"'d_model'", "integer"});
  expect_error(with(tiny(), "n_layers", 2.5), {"'n_layers'", "integer"});
  expect_error(with(tiny(), "weight_tying", 1), {"'weight_tying'", "true or false"});
  expect_error(with(tiny(), "rope_theta", "big"), {"'rope_theta'", "number"});
  expect_error(json::array({1, 2}), {"object"});
}

TEST(ConfigBad, UnsupportedArchitecture) {
  expect_error(with(tiny(), "activation_type", "gelu"), {"'activation_type'", "gelu"});
  expect_error(with(tiny(), "activation_type", "swiglu"), {"'activation_type'", "swiglu"});
  expect_error(with(tiny(), "block_type", "sequential"), {"'block_type'", "sequential"});
  expect_error(with(tiny(), "layer_norm_type", "default"), {"'layer_norm_type'"});
  expect_error(with(tiny(), "layer_norm_type", "gemma_rms"), {"'layer_norm_type'"});
  expect_error(with(tiny(), "include_bias", true), {"'include_bias'"});
  expect_error(with(tiny(), "include_qkv_bias", true), {"'include_qkv_bias'"});
  expect_error(with(tiny(), "alibi", true), {"'alibi'"});
  expect_error(with(tiny(), "rope", false), {"'rope'"});
  expect_error(with(tiny(), "layer_norm_with_affine", false), {"'layer_norm_with_affine'"});
  expect_error(with(tiny(), "attention_layer_norm", true), {"'attention_layer_norm'"});
  expect_error(with(tiny(), "block_group_size", 2), {"'block_group_size'"});
  expect_error(with(tiny(), "model_type", "llama"), {"'model_type'"});
  expect_error(with(tiny(), "rope_scaling", json{{"type", "linear"}}), {"'rope_scaling'"});
  expect_error(with(tiny(), "attention_dropout", 0.1), {"'attention_dropout'"});
}

TEST(ConfigBad, InconsistentSizes) {
  expect_error(with(tiny(), "n_heads", 5), {"'d_model'", "'n_heads'"});
  expect_error(with(tiny(), "n_kv_heads", 3), {"'n_heads'", "'n_kv_heads'"});
  expect_error(with(tiny(), "n_kv_heads", 8), {"'n_kv_heads'"});
  expect_error(with(with(tiny(), "d_model", 12), "n_heads", 4), {"odd"});  // head dim 3
  expect_error(with(tiny(), "embedding_size", 64), {"'embedding_size'"});
  expect_error(with(tiny(), "d_model", 0), {"'d_model'"});
  expect_error(with(tiny(), "n_layers", -1), {"'n_layers'"});
  expect_error(with(tiny(), "mlp_hidden_size", 0), {"'mlp_hidden_size'"});
  expect_error(with(tiny(), "d_model", int64_t(1) << 40), {"'d_model'"});
  expect_error(with(tiny(), "rms_norm_eps", 0.0), {"'rms_norm_eps'"});
  expect_error(with(tiny(), "vocab_size", uint64_t(18446744073709551615ull)),
               {"'vocab_size'", "too large"});
  expect_error(
      with(with(with(tiny(), "d_model", 1 << 22), "mlp_hidden_size", 1 << 22), "n_layers", 4000),
      {"parameters"});
  expect_error(with(tiny(), "rope_theta", -1.0), {"'rope_theta'"});
}

TEST(ConfigBad, TokenIdsOutOfRange) {
  expect_error(with(tiny(), "mask_token_id", 128), {"'mask_token_id'", "128"});
  expect_error(with(tiny(), "mask_token_id", -1), {"'mask_token_id'"});
  expect_error(with(tiny(), "eos_token_id", 500), {"'eos_token_id'"});
  expect_error(with(tiny(), "pad_token_id", -7), {"'pad_token_id'"});
  expect_error(with(tiny(), "bos_token_id", 1000), {"'bos_token_id'"});
}

TEST(ConfigBad, FilesOnDisk) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(testing::TempDir()) / ("cfg_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string missing = (dir / "nope.json").string();
  try {
    ModelConfig::load(missing);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.json"), std::string::npos);
  }
  std::string bad = (dir / "bad.json").string();
  std::ofstream(bad) << "{\"d_model\": 32,,}";
  try {
    ModelConfig::load(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos);
  }
  std::string good = (dir / "good.json").string();
  std::ofstream(good) << kLLaDA8B;
  EXPECT_EQ(ModelConfig::load(good).d_model, 4096);
}

}  // namespace
}  // namespace llada
