// The weight list, initialisation and model-directory I/O: round trips (f32, bf16, f16 files,
// sharded), zero-copy loading, and every bad directory the loader must refuse with an error naming
// the file and the tensor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/file_io.h"
#include "model/safetensors.h"
#include "model/weights.h"
#include "model/weights_io.h"

namespace llada {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

ModelConfig small_cfg(bool tied = false) {
  json j = {{"d_model", 16},        {"n_layers", 2},         {"n_heads", 4},
            {"n_kv_heads", 2},      {"mlp_hidden_size", 24}, {"vocab_size", 40},
            {"embedding_size", 48}, {"mask_token_id", 39},   {"eos_token_id", 38},
            {"weight_tying", tied}};
  return ModelConfig::from_json(j, "small");
}

std::string fresh_dir(const std::string& name) {
  fs::path d = fs::path(testing::TempDir()) / ("wt_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::vector<float> values(const Tensor& t) {
  std::vector<float> v(size_t(t.numel()));
  convert_to_f32(v.data(), t.data, t.dtype, v.size());
  return v;
}

void expect_same_values(const Weights& a, const Weights& b) {
  std::vector<const Tensor*> ta, tb;
  a.for_each([&](const Tensor& t) { ta.push_back(&t); });
  b.for_each([&](const Tensor& t) { tb.push_back(&t); });
  ASSERT_EQ(ta.size(), tb.size());
  for (size_t i = 0; i < ta.size(); ++i) {
    EXPECT_EQ(ta[i]->name, tb[i]->name);
    EXPECT_EQ(ta[i]->shape, tb[i]->shape);
    EXPECT_EQ(values(*ta[i]), values(*tb[i])) << ta[i]->name;
  }
}

// Expects load_model_dir(dir) to fail with a message containing every needle.
void expect_load_error(const std::string& dir, std::initializer_list<std::string> needles) {
  ModelConfig c;
  Weights w;
  try {
    load_model_dir(dir, &c, &w);
    ADD_FAILURE() << "loaded " << dir;
  } catch (const Error& e) {
    std::string msg = e.what();
    for (const std::string& n : needles)
      EXPECT_NE(msg.find(n), std::string::npos) << msg << "\n  lacks: " << n;
  }
}

// A valid f32 model directory; returns its weights.
Weights make_model(const std::string& dir, const ModelConfig& cfg, DType dtype = DType::F32) {
  Weights w = Weights::allocate(cfg, DType::F32);
  init_weights(w, cfg, 7);
  save_model_dir(dir, cfg, w, dtype);
  return w;
}

// Rewrite dir/model.safetensors through `edit` (which may rename, reshape, add or drop tensors).
void rewrite(const std::string& dir, const std::function<void(std::vector<Tensor>&)>& edit) {
  std::vector<Tensor> ts;
  {
    SafetensorsFile st = SafetensorsFile::open(dir + "/model.safetensors");
    for (auto& [n, t] : st.tensors) {
      Tensor c = Tensor::zeros(n, t.shape, t.dtype);
      std::memcpy(c.data, t.data, t.nbytes());
      ts.push_back(c);
    }
  }
  edit(ts);
  std::vector<const Tensor*> ptrs;
  for (auto& t : ts) ptrs.push_back(&t);
  write_safetensors(dir + "/model.safetensors", ptrs, DType::F32);
}

TEST(Weights, LayoutNamesShapesAndOrder) {
  ModelConfig c = small_cfg();
  Weights w = Weights::allocate(c, DType::BF16);
  std::vector<std::string> names;
  w.for_each([&](const Tensor& t) { names.push_back(t.name); });
  ASSERT_EQ(names.size(), size_t(1 + 9 * 2 + 2));
  EXPECT_EQ(names[0], "model.transformer.wte.weight");
  EXPECT_EQ(names[1], "model.transformer.blocks.0.attn_norm.weight");
  EXPECT_EQ(names[2], "model.transformer.blocks.0.q_proj.weight");
  EXPECT_EQ(names[9], "model.transformer.blocks.0.ff_out.weight");
  EXPECT_EQ(names[19], "model.transformer.ln_f.weight");
  EXPECT_EQ(names[20], "model.transformer.ff_out.weight");
  EXPECT_EQ(w.layers[1].k_proj.shape, (std::vector<int64_t>{8, 16}));  // 2 kv heads * hd 4
  EXPECT_EQ(w.layers[1].ff_out.shape, (std::vector<int64_t>{16, 24}));
  EXPECT_EQ(w.wte.shape, (std::vector<int64_t>{48, 16}));
  EXPECT_EQ(w.wte.dtype, DType::BF16);
  EXPECT_EQ(w.layers[0].attn_norm.dtype, DType::F32);  // norms stay f32
  int64_t total = 0;
  w.for_each([&](const Tensor& t) { total += t.numel(); });
  EXPECT_EQ(total, c.n_params());

  Weights tied = Weights::allocate(small_cfg(true), DType::F32);
  EXPECT_TRUE(tied.head.empty());
  EXPECT_EQ(&tied.lm_head(), &tied.wte);
  int n = 0;
  tied.for_each([&](const Tensor&) { ++n; });
  EXPECT_EQ(n, 20);

  Weights g = Weights::like(w, DType::F32);
  std::vector<std::string> gnames;
  g.for_each([&](const Tensor& t) {
    gnames.push_back(t.name);
    EXPECT_EQ(t.dtype, DType::F32);
  });
  EXPECT_EQ(gnames, names);
}

// Roles come from the one layout: every walk (the layout list, existing weights, their twins)
// sees the same name, shape and role per tensor, and twins of another layout are refused.
TEST(Weights, OneLayoutWithRolesForEveryWalk) {
  const ModelConfig c = small_cfg();
  const std::vector<WeightInfo> layout = weight_layout(c);
  Weights w = Weights::allocate(c, DType::F32);
  size_t i = 0;
  w.for_each([&](const WeightInfo& info, const Tensor& t) {
    ASSERT_LT(i, layout.size());
    EXPECT_EQ(info.name, t.name);
    EXPECT_EQ(info.name, layout[i].name);
    EXPECT_EQ(info.shape, layout[i].shape);
    EXPECT_EQ(info.role, layout[i].role);
    EXPECT_EQ(info.is_norm(), t.shape.size() == 1) << t.name;
    const bool out = t.name.ends_with(".attn_out.weight") ||
                     (t.name.ends_with(".ff_out.weight") && t.name.find(".blocks.") != std::string::npos);
    EXPECT_EQ(info.role == WeightRole::OutProjection, out) << t.name;
    EXPECT_EQ(info.role == WeightRole::Head, t.name == "model.transformer.ff_out.weight") << t.name;
    EXPECT_EQ(info.role == WeightRole::Embedding, t.name == "model.transformer.wte.weight") << t.name;
    ++i;
  });
  EXPECT_EQ(i, layout.size());

  const Weights g = Weights::like(w, DType::F32), m = Weights::like(w, DType::F32);
  size_t n = 0;
  for_each_twin(w, {&g, &m}, [&](const WeightInfo& info, const std::vector<const Tensor*>& twins) {
    ASSERT_EQ(twins.size(), 2u);
    EXPECT_EQ(twins[0]->name, info.name);
    EXPECT_EQ(twins[1]->shape, info.shape);
    ++n;
  });
  EXPECT_EQ(n, layout.size());
  const Weights tied = Weights::allocate(small_cfg(true), DType::F32);
  EXPECT_THROW(for_each_twin(w, {&tied}, [](const WeightInfo&, const std::vector<const Tensor*>&) {}), Error);
}

TEST(Weights, InitIsDeterministicScaledAndNormsAreOne) {
  ModelConfig c = small_cfg();
  Weights a = Weights::allocate(c, DType::F32), b = Weights::allocate(c, DType::F32),
          d = Weights::allocate(c, DType::F32), h = Weights::allocate(c, DType::BF16);
  init_weights(a, c, 42);
  init_weights(b, c, 42);
  init_weights(d, c, 43);
  init_weights(h, c, 42);
  expect_same_values(a, b);
  EXPECT_NE(values(a.wte), values(d.wte));
  for (float v : values(a.layers[0].ff_norm)) EXPECT_EQ(v, 1.0f);
  for (float v : values(a.ln_f)) EXPECT_EQ(v, 1.0f);
  // bf16 init = f32 init rounded.
  std::vector<float> af = values(a.layers[1].up_proj), hf = values(h.layers[1].up_proj);
  for (size_t i = 0; i < af.size(); ++i) ASSERT_EQ(hf[i], bf16_to_f32(f32_to_bf16(af[i])));
  // Standard deviations: 0.02 for most matrices, 0.02/sqrt(2*L) for the residual outputs.
  auto stdev = [](const std::vector<float>& v) {
    double s = 0, s2 = 0;
    for (float x : v) s += x, s2 += double(x) * x;
    double m = s / double(v.size());
    return std::sqrt(s2 / double(v.size()) - m * m);
  };
  ModelConfig big = ModelConfig::from_json(json{{"d_model", 128},
                                                {"n_layers", 8},
                                                {"n_heads", 4},
                                                {"mlp_hidden_size", 256},
                                                {"vocab_size", 256},
                                                {"mask_token_id", 1}},
                                           "big");
  Weights w = Weights::allocate(big, DType::F32);
  init_weights(w, big, 1);
  EXPECT_NEAR(stdev(values(w.wte)), 0.02, 0.001);
  EXPECT_NEAR(stdev(values(w.layers[3].q_proj)), 0.02, 0.001);
  EXPECT_NEAR(stdev(values(w.head)), 0.02, 0.001);
  EXPECT_NEAR(stdev(values(w.layers[3].attn_out)), 0.02 / 4.0, 0.0003);
  EXPECT_NEAR(stdev(values(w.layers[5].ff_out)), 0.02 / 4.0, 0.0003);
}

TEST(WeightsIO, RoundTripF32IsExactAndZeroCopy) {
  std::string dir = fresh_dir("f32");
  ModelConfig c = small_cfg();
  Weights w = make_model(dir, c);
  EXPECT_TRUE(fs::exists(dir + "/config.json"));
  EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
  ModelConfig c2;
  Weights w2;
  load_model_dir(dir, &c2, &w2);
  EXPECT_EQ(c2.to_json(), c.to_json());
  expect_same_values(w, w2);
  // Matrices point into the mapping (keepalive is the mapped file, not the data itself).
  EXPECT_NE(w2.layers[0].q_proj.keepalive.get(), w2.layers[0].q_proj.data);
  EXPECT_EQ(w2.layers[0].q_proj.dtype, DType::F32);
  // Norms are owned f32 copies.
  EXPECT_EQ(w2.layers[0].attn_norm.keepalive.get(), w2.layers[0].attn_norm.data);
  // force_f32: every tensor owned and writable.
  Weights w3;
  load_model_dir(dir, &c2, &w3, LoadOptions{.force_f32 = true});
  w3.for_each([](const Tensor& t) { EXPECT_EQ(t.keepalive.get(), t.data) << t.name; });
  w3.layers[1].v_proj.f32()[0] = 5.0f;  // would fault on a read-only mapping
  expect_same_values(w, w2);
}

TEST(WeightsIO, RoundTripBF16AndConversions) {
  std::string dir = fresh_dir("bf16");
  ModelConfig c = small_cfg(true);
  Weights w = make_model(dir, c, DType::BF16);
  ModelConfig c2;
  Weights w2;
  load_model_dir(dir, &c2, &w2);
  EXPECT_TRUE(c2.weight_tying);
  EXPECT_TRUE(w2.head.empty());
  EXPECT_EQ(w2.wte.dtype, DType::BF16);
  EXPECT_EQ(w2.ln_f.dtype, DType::F32);  // norms converted to f32
  std::vector<float> want = values(w.layers[1].ff_proj), got = values(w2.layers[1].ff_proj);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], bf16_to_f32(f32_to_bf16(want[i])));
  // Widened to f32 on request, and converted f32 -> bf16 on request.
  Weights w3;
  load_model_dir(dir, &c2, &w3, LoadOptions{.force_f32 = true});
  EXPECT_EQ(w3.wte.dtype, DType::F32);
  EXPECT_EQ(values(w3.layers[1].ff_proj), got);
  std::string dir32 = fresh_dir("bf16_from_f32");
  make_model(dir32, c, DType::F32);
  Weights w4;
  load_model_dir(dir32, &c2, &w4, LoadOptions{.convert_to = DType::BF16, .convert = true});
  EXPECT_EQ(w4.layers[0].q_proj.dtype, DType::BF16);
  EXPECT_EQ(values(w4.layers[1].ff_proj), got);
  // Re-saving a loaded (memory-mapped) model into its own directory works (atomic rename).
  save_model_dir(dir, c2, w2, DType::BF16);
  Weights w5;
  load_model_dir(dir, &c2, &w5);
  expect_same_values(w2, w5);
}

TEST(WeightsIO, F16FileWidensToF32) {
  std::string dir = fresh_dir("f16");
  ModelConfig c = small_cfg();
  Weights w = make_model(dir, c, DType::F16);
  ModelConfig c2;
  Weights w2;
  load_model_dir(dir, &c2, &w2);
  EXPECT_EQ(w2.layers[0].up_proj.dtype, DType::F32);
  std::vector<float> want = values(w.layers[0].up_proj), got = values(w2.layers[0].up_proj);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], f16_to_f32(f32_to_f16(want[i])));
}

TEST(WeightsIO, ShardedRoundTripAndSwitchBack) {
  std::string dir = fresh_dir("sharded");
  ModelConfig c = small_cfg();
  Weights w = Weights::allocate(c, DType::F32);
  init_weights(w, c, 3);
  save_model_dir(dir, c, w, DType::BF16, /*max_shard_bytes=*/2000);
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors"));
  ASSERT_TRUE(fs::exists(dir + "/model.safetensors.index.json"));
  json idx = json::parse(read_file(dir + "/model.safetensors.index.json"));
  EXPECT_EQ(idx["weight_map"].size(), 21u);
  EXPECT_EQ(idx["metadata"]["total_size"].get<int64_t>(), c.n_params() * 2);
  WeightFiles wf = find_weight_files(dir);
  ASSERT_GT(wf.files.size(), 2u);
  EXPECT_TRUE(
      fs::exists(dir + "/model-00001-of-" + strformat("%05zu", wf.files.size()) + ".safetensors"));
  ModelConfig c2;
  Weights w2;
  load_model_dir(dir, &c2, &w2);
  Weights w_bf = Weights::allocate(c, DType::BF16);
  init_weights(w_bf, c, 3);
  expect_same_values(w_bf, w2);
  // Saving unsharded into the same directory removes the index and the old shards.
  save_model_dir(dir, c, w, DType::F32);
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(wf.files[0]));
  Weights w3;
  load_model_dir(dir, &c2, &w3);
  expect_same_values(w, w3);
}

TEST(WeightsIOBad, MissingFiles) {
  expect_load_error(fresh_dir("none") + "/absent", {"absent", "not found"});
  std::string dir = fresh_dir("nocfg");
  expect_load_error(dir, {"config.json", "not found"});
  std::string dir2 = fresh_dir("noweights");
  make_model(dir2, small_cfg());
  fs::remove(dir2 + "/model.safetensors");
  expect_load_error(dir2, {"noweights", "model.safetensors"});
}

TEST(WeightsIOBad, MalformedConfig) {
  std::string dir = fresh_dir("badcfg");
  make_model(dir, small_cfg());
  std::ofstream(dir + "/config.json") << "{\"d_model\": 16, oops}";
  expect_load_error(dir, {"config.json", "malformed JSON"});
  json j = small_cfg().to_json();
  j["activation_type"] = "relu";
  std::ofstream(dir + "/config.json") << j.dump();
  expect_load_error(dir, {"config.json", "activation_type"});
}

TEST(WeightsIOBad, WrongShapeMissingUnexpectedAndIntegerTensors) {
  std::string dir = fresh_dir("shape");
  make_model(dir, small_cfg());
  rewrite(dir, [](std::vector<Tensor>& ts) {
    for (Tensor& t : ts)
      if (t.name == "model.transformer.blocks.1.k_proj.weight") t.shape = {4, 32};  // same bytes
  });
  expect_load_error(dir, {"model.safetensors", "blocks.1.k_proj.weight", "[4, 32]", "[8, 16]"});

  make_model(dir, small_cfg());
  rewrite(dir, [](std::vector<Tensor>& ts) {
    std::erase_if(ts, [](const Tensor& t) { return t.name == "model.transformer.ln_f.weight"; });
  });
  expect_load_error(dir, {"model.safetensors", "ln_f.weight", "missing"});

  make_model(dir, small_cfg());
  rewrite(dir, [](std::vector<Tensor>& ts) {
    ts.push_back(Tensor::zeros("model.transformer.extra.bias", {3}));
  });
  expect_load_error(dir, {"unexpected", "model.transformer.extra.bias", "model.safetensors"});

  // A tied config with an untied file: the head is unexpected.
  make_model(dir, small_cfg());
  std::ofstream(dir + "/config.json") << small_cfg(true).to_json().dump();
  expect_load_error(dir, {"unexpected", "model.transformer.ff_out.weight", "weight_tying"});

  make_model(dir, small_cfg());
  rewrite(dir, [](std::vector<Tensor>& ts) {
    for (Tensor& t : ts)
      if (t.name == "model.transformer.ln_f.weight") t.dtype = DType::I32;
  });
  expect_load_error(dir, {"model.transformer.ln_f.weight", "I32"});
}

TEST(WeightsIOBad, CorruptSafetensorsInsideAModel) {
  std::string dir = fresh_dir("corrupt");
  make_model(dir, small_cfg());
  std::string bytes = read_file(dir + "/model.safetensors");
  write_file_atomic(dir + "/model.safetensors", bytes.substr(0, bytes.size() / 2));
  expect_load_error(dir, {"model.safetensors", "truncated"});
  bytes[9] = '#';  // the JSON header's first quote
  write_file_atomic(dir + "/model.safetensors", bytes);
  expect_load_error(dir, {"model.safetensors", "JSON"});
}

TEST(WeightsIOBad, BadIndex) {
  std::string dir = fresh_dir("index");
  ModelConfig c = small_cfg();
  Weights w = Weights::allocate(c, DType::F32);
  save_model_dir(dir, c, w, DType::F32, 2000);
  const std::string index = dir + "/model.safetensors.index.json";
  json good = json::parse(read_file(index));

  write_file_atomic(index, "{\"weight_map\": ");
  expect_load_error(dir, {"model.safetensors.index.json", "malformed JSON"});
  write_file_atomic(index, "{\"metadata\": {}}");
  expect_load_error(dir, {"model.safetensors.index.json", "weight_map"});

  json j = good;
  j["weight_map"]["model.transformer.wte.weight"] = "../../etc/passwd";
  write_file_atomic(index, j.dump());
  expect_load_error(dir, {"model.safetensors.index.json", "../../etc/passwd", "plain file name"});

  j = good;
  j["weight_map"]["model.transformer.wte.weight"] = "model-00099-of-00099.safetensors";
  write_file_atomic(index, j.dump());
  expect_load_error(dir, {"model-00099-of-00099.safetensors", "not found"});

  j = good;  // the index names the wrong shard for a tensor that exists elsewhere
  std::string real = j["weight_map"]["model.transformer.ln_f.weight"];
  j["weight_map"]["model.transformer.ln_f.weight"] =
      j["weight_map"]["model.transformer.wte.weight"];
  ASSERT_NE(real, j["weight_map"]["model.transformer.ln_f.weight"].get<std::string>());
  write_file_atomic(index, j.dump());
  expect_load_error(dir, {"model.transformer.ln_f.weight", real});

  j = good;  // a tensor only the index knows about
  j["weight_map"]["model.transformer.ghost.weight"] = real;
  write_file_atomic(index, j.dump());
  expect_load_error(dir, {"model.transformer.ghost.weight", "missing"});

  j = good;  // a tensor the index does not list
  j["weight_map"].erase("model.transformer.ln_f.weight");
  write_file_atomic(index, j.dump());
  expect_load_error(dir, {"model.transformer.ln_f.weight", "not listed"});
}

TEST(WeightsIOBad, SaveRejectsWeightsThatDoNotMatchTheConfig) {
  ModelConfig c = small_cfg();
  Weights w = Weights::allocate(c, DType::F32);
  ModelConfig other = c;
  other.mlp_hidden_size = 32;
  std::string dir = fresh_dir("mismatch");
  EXPECT_THROW(save_model_dir(dir, other, w, DType::F32), Error);
  EXPECT_FALSE(fs::exists(dir + "/config.json"));  // nothing written
  EXPECT_THROW(save_model_dir(dir, c, w, DType::I32), Error);
}

}  // namespace
}  // namespace llada
