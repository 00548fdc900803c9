#include "train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "core/file_io.h"
#include "model/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace llada::train {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// RNG words as hex strings: JSON numbers lose precision above 2^53.
json rng_to_json(const std::array<uint64_t, 4>& s) {
  json a = json::array();
  for (uint64_t w : s) a.push_back(strformat("%016llx", (unsigned long long)w));
  return a;
}

std::array<uint64_t, 4> rng_from_json(const json& a, const std::string& source) {
  LLADA_CHECK(a.is_array() && a.size() == 4, "%s: noise_rng must be 4 hex words", source.c_str());
  std::array<uint64_t, 4> s{};
  for (size_t i = 0; i < 4; ++i) {
    LLADA_CHECK(a[i].is_string(), "%s: noise_rng[%zu] must be a hex string", source.c_str(), i);
    const std::string h = a[i].get<std::string>();
    size_t used = 0;
    try {
      s[i] = std::stoull(h, &used, 16);
    } catch (...) {
      used = 0;
    }
    LLADA_CHECK(used == h.size() && !h.empty(), "%s: noise_rng[%zu] '%s' is not hex", source.c_str(), i,
                h.c_str());
  }
  return s;
}

int64_t step_of(const std::string& name) {
  if (name.rfind("step-", 0) != 0) return -1;
  const std::string num = name.substr(5);
  if (num.empty() || !std::all_of(num.begin(), num.end(), ::isdigit)) return -1;
  return std::stoll(num);
}

}  // namespace

json TrainerState::to_json() const {
  json j = {{"step", step},           {"noise_rng", rng_to_json(noise_rng)}, {"data_state", data_state},
            {"tokens_seen", tokens_seen}, {"elapsed_s", elapsed_s},          {"config", config}};
  if (!sft_mix_state.is_null()) j["sft_mix_state"] = sft_mix_state;
  return j;
}

TrainerState TrainerState::from_json(const json& j, const std::string& source) {
  TrainerState s;
  try {
    s.step = j.at("step").get<int64_t>();
    s.noise_rng = rng_from_json(j.at("noise_rng"), source);
    s.data_state = j.at("data_state");
    s.tokens_seen = j.at("tokens_seen").get<int64_t>();
    s.elapsed_s = j.at("elapsed_s").get<double>();
    s.config = j.at("config");
    if (j.contains("sft_mix_state")) s.sft_mix_state = j.at("sft_mix_state");
  } catch (const json::exception& e) {
    fail(strformat("%s: trainer state: %s", source.c_str(), e.what()));
  }
  return s;
}

void save_optimizer(const std::string& path, const AdamW& opt) {
  // Shallow copies renamed torch-style (exp_avg.<param>); the data stays where it is.
  std::vector<Tensor> named;
  opt.m().for_each([&](const Tensor& t) {
    Tensor c = t;
    c.name = "exp_avg." + t.name;
    named.push_back(c);
  });
  opt.v().for_each([&](const Tensor& t) {
    Tensor c = t;
    c.name = "exp_avg_sq." + t.name;
    named.push_back(c);
  });
  std::vector<const Tensor*> ptrs;
  for (const Tensor& t : named) ptrs.push_back(&t);
  write_safetensors(path, ptrs, DType::F32, {{"step", std::to_string(opt.steps())}});
}

void load_optimizer(const std::string& path, AdamW* opt) {
  SafetensorsFile f = SafetensorsFile::open(path);
  auto fill = [&](Weights& w, const char* prefix) {
    w.for_each([&](Tensor& t) {
      const std::string name = prefix + t.name;
      auto it = f.tensors.find(name);
      LLADA_CHECK(it != f.tensors.end(), "%s: missing tensor %s", path.c_str(), name.c_str());
      const Tensor& s = it->second;
      LLADA_CHECK(s.dtype == DType::F32 && s.shape == t.shape,
                  "%s: tensor %s is %s %s, expected F32 %s", path.c_str(), name.c_str(),
                  dtype_name(s.dtype), s.shape_str().c_str(), t.shape_str().c_str());
      std::memcpy(t.data, s.data, t.nbytes());
    });
  };
  fill(opt->m(), "exp_avg.");
  fill(opt->v(), "exp_avg_sq.");
  auto it = f.metadata.find("step");
  LLADA_CHECK(it != f.metadata.end(), "%s: metadata has no optimizer step", path.c_str());
  opt->set_steps(std::stoll(it->second));
}

std::string save_checkpoint(const std::string& run_dir, const Model& model, const AdamW& opt,
                            const TrainerState& state, const Tokenizer* tok, int64_t keep) {
  make_dirs(run_dir);
  const std::string name = "step-" + std::to_string(state.step);
  const fs::path final_dir = fs::path(run_dir) / name;
  const fs::path tmp = fs::path(run_dir) / (name + ".tmp." + std::to_string(::getpid()));
  fs::remove_all(tmp);
  save_model_dir(tmp.string(), model.cfg, model.w, DType::F32);
  if (tok) tok->save(tmp.string());
  save_optimizer((tmp / "optimizer.safetensors").string(), opt);
  write_file_atomic((tmp / "trainer_state.json").string(), state.to_json().dump(1) + "\n");
  std::error_code ec;
  fs::remove_all(final_dir, ec);  // a rerun from an earlier checkpoint replaces a stale step-N
  fs::rename(tmp, final_dir, ec);
  LLADA_CHECK(!ec, "%s: cannot rename checkpoint into place: %s", final_dir.c_str(), ec.message().c_str());
  write_file_atomic((fs::path(run_dir) / "latest").string(), name + "\n");
  if (keep > 0) {
    std::vector<std::pair<int64_t, fs::path>> steps;
    for (const auto& e : fs::directory_iterator(run_dir)) {
      const int64_t s = step_of(e.path().filename().string());
      if (s >= 0 && e.is_directory()) steps.push_back({s, e.path()});
    }
    std::sort(steps.begin(), steps.end());
    for (size_t i = 0; i + size_t(keep) < steps.size(); ++i)
      if (steps[i].second != final_dir) fs::remove_all(steps[i].second, ec);
  }
  return final_dir.string();
}

std::string latest_checkpoint(const std::string& run_dir) {
  const fs::path p = fs::path(run_dir) / "latest";
  if (!fs::exists(p)) return "";
  std::string name = read_file(p.string());
  while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
  LLADA_CHECK(step_of(name) >= 0, "%s: expected a step-N name, found '%s'", p.c_str(), name.c_str());
  const fs::path dir = fs::path(run_dir) / name;
  LLADA_CHECK(fs::is_directory(dir), "%s: names %s, which does not exist", p.c_str(), dir.c_str());
  return dir.string();
}

void load_checkpoint(const std::string& ckpt_dir, Model* model, AdamW* opt, TrainerState* state) {
  LoadOptions lo;
  lo.force_f32 = true;
  *model = Model::load(ckpt_dir, lo);
  const std::string sp = (fs::path(ckpt_dir) / "trainer_state.json").string();
  json j;
  try {
    j = json::parse(read_file(sp));
  } catch (const json::exception& e) {
    fail(strformat("%s: not valid JSON: %s", sp.c_str(), e.what()));
  }
  *state = TrainerState::from_json(j, sp);
  if (opt) load_optimizer((fs::path(ckpt_dir) / "optimizer.safetensors").string(), opt);
}

}  // namespace llada::train
