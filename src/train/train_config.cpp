#include "train/train_config.h"

#include <set>

#include "core/error.h"
#include "core/file_io.h"

namespace llada::train {

using nlohmann::json;

namespace {

// Reads j[key] into *out when present; type errors name the file and the field.
template <typename T>
void get(const json& j, const char* key, T* out, const std::string& source, const std::string& where) {
  if (!j.contains(key)) return;
  try {
    *out = j.at(key).get<T>();
  } catch (const json::exception&) {
    fail(strformat("%s: field %s%s has the wrong type (%s)", source.c_str(), where.c_str(), key,
                   j.at(key).dump().c_str()));
  }
}

std::vector<std::string> path_list(const json& j, const char* key, const std::string& source,
                                   const char* where = "data.") {
  std::vector<std::string> out;
  if (!j.contains(key)) return out;
  const json& v = j.at(key);
  if (v.is_string()) return {v.get<std::string>()};
  LLADA_CHECK(v.is_array(), "%s: field %s%s must be a path or a list of paths", source.c_str(), where, key);
  for (const auto& e : v) {
    LLADA_CHECK(e.is_string(), "%s: field %s%s must hold paths (strings)", source.c_str(), where, key);
    out.push_back(e.get<std::string>());
  }
  return out;
}

void check_keys(const json& j, const std::set<std::string>& allowed, const std::string& source,
                const std::string& where) {
  for (auto it = j.begin(); it != j.end(); ++it)
    LLADA_CHECK(allowed.count(it.key()), "%s: unknown field %s%s", source.c_str(), where.c_str(),
                it.key().c_str());
}

}  // namespace

TrainConfig TrainConfig::from_json(const json& j, const std::string& src) {
  LLADA_CHECK(j.is_object(), "%s: a training configuration must be a JSON object", src.c_str());
  check_keys(j,
             {"model", "tokenizer", "objective", "data", "seq_len", "batch_size", "grad_accum", "steps",
              "diffusion", "sft", "sft_mix", "optim", "schedule", "seed", "threads", "out", "checkpoint_every",
              "keep_checkpoints", "save_dtype", "precision", "eval_every", "eval_batches", "log_every", "progress",
              "comment"},
             src, "");
  TrainConfig c;
  if (j.contains("model")) {
    const json& m = j.at("model");
    check_keys(m, {"init_from", "config", "init_std"}, src, "model.");
    get(m, "init_from", &c.init_from, src, "model.");
    if (m.contains("config")) c.model_json = m.at("config");
    get(m, "init_std", &c.init_std, src, "model.");
  }
  get(j, "tokenizer", &c.tokenizer, src, "");
  if (j.contains("objective")) {
    std::string o;
    get(j, "objective", &o, src, "");
    c.objective = objective_from_name(o);
  }
  if (j.contains("data")) {
    const json& d = j.at("data");
    check_keys(d, {"train", "heldout", "window"}, src, "data.");
    c.train_data = path_list(d, "train", src);
    c.heldout_data = path_list(d, "heldout", src);
    get(d, "window", &c.window, src, "data.");
  }
  get(j, "seq_len", &c.seq_len, src, "");
  get(j, "batch_size", &c.batch_size, src, "");
  get(j, "grad_accum", &c.grad_accum, src, "");
  get(j, "steps", &c.steps, src, "");
  if (j.contains("diffusion")) {
    const json& d = j.at("diffusion");
    check_keys(d, {"eps", "random_length_prob", "stratified_t", "weighting"}, src, "diffusion.");
    get(d, "weighting", &c.mask_weighting, src, "diffusion.");
    get(d, "eps", &c.eps, src, "diffusion.");
    get(d, "random_length_prob", &c.random_length_prob, src, "diffusion.");
    get(d, "stratified_t", &c.stratified_t, src, "diffusion.");
  }
  if (j.contains("sft")) {
    const json& d = j.at("sft");
    check_keys(d, {"prompt_mask_prob", "pad"}, src, "sft.");
    get(d, "prompt_mask_prob", &c.prompt_mask_prob, src, "sft.");
    get(d, "pad", &c.sft_pad, src, "sft.");
  }
  if (j.contains("sft_mix")) {
    const json& d = j.at("sft_mix");
    LLADA_CHECK(d.is_object(), "%s: field sft_mix must be an object {\"train\", \"every\", \"batch_size\"}",
                src.c_str());
    check_keys(d, {"train", "every", "batch_size"}, src, "sft_mix.");
    c.sft_mix_data = path_list(d, "train", src, "sft_mix.");
    get(d, "every", &c.sft_mix_every, src, "sft_mix.");
    get(d, "batch_size", &c.sft_mix_batch, src, "sft_mix.");
  }
  if (j.contains("optim")) {
    const json& o = j.at("optim");
    check_keys(o, {"betas", "eps", "weight_decay", "grad_clip", "decay_embeddings"}, src, "optim.");
    if (o.contains("betas")) {
      const json& b = o.at("betas");
      LLADA_CHECK(b.is_array() && b.size() == 2 && b[0].is_number() && b[1].is_number(),
                  "%s: field optim.betas must be [beta1, beta2]", src.c_str());
      c.adamw.beta1 = b[0].get<double>();
      c.adamw.beta2 = b[1].get<double>();
    }
    get(o, "eps", &c.adamw.eps, src, "optim.");
    get(o, "weight_decay", &c.adamw.weight_decay, src, "optim.");
    get(o, "grad_clip", &c.grad_clip, src, "optim.");
    get(o, "decay_embeddings", &c.adamw.decay_embeddings, src, "optim.");
  }
  if (j.contains("schedule")) {
    check_keys(j.at("schedule"),
               {"kind", "lr", "warmup_steps", "min_lr", "drop_frac", "drop_lr", "decay_frac"}, src,
               "schedule.");
    c.schedule = Schedule::from_json(j.at("schedule"), src);
  }
  get(j, "precision", &c.precision, src, "");
  get(j, "seed", &c.seed, src, "");
  get(j, "threads", &c.threads, src, "");
  get(j, "out", &c.out, src, "");
  get(j, "checkpoint_every", &c.checkpoint_every, src, "");
  get(j, "keep_checkpoints", &c.keep_checkpoints, src, "");
  get(j, "save_dtype", &c.save_dtype, src, "");
  get(j, "eval_every", &c.eval_every, src, "");
  get(j, "eval_batches", &c.eval_batches, src, "");
  get(j, "log_every", &c.log_every, src, "");
  get(j, "progress", &c.progress, src, "");
  return c;
}

TrainConfig TrainConfig::load(const std::string& path) {
  const std::string text = read_file(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    fail(strformat("%s: not valid JSON: %s", path.c_str(), e.what()));
  }
  return from_json(j, path);
}

json TrainConfig::to_json() const {
  json model = json::object();
  if (!init_from.empty()) model["init_from"] = init_from;
  if (!model_json.is_null()) model["config"] = model_json;
  model["init_std"] = init_std;
  json j = {{"model", model},
          {"tokenizer", tokenizer},
          {"objective", objective_name(objective)},
          {"data", {{"train", train_data}, {"heldout", heldout_data}, {"window", window}}},
          {"seq_len", seq_len},
          {"batch_size", batch_size},
          {"grad_accum", grad_accum},
          {"steps", steps},
          {"diffusion", {{"eps", eps}, {"random_length_prob", random_length_prob}, {"stratified_t", stratified_t}, {"weighting", mask_weighting}}},
          {"sft", {{"prompt_mask_prob", prompt_mask_prob}, {"pad", sft_pad}}},
          {"optim",
           {{"betas", {adamw.beta1, adamw.beta2}},
            {"eps", adamw.eps},
            {"weight_decay", adamw.weight_decay},
            {"grad_clip", grad_clip},
            {"decay_embeddings", adamw.decay_embeddings}}},
          {"schedule", schedule.to_json()},
          {"precision", precision},
          {"seed", seed},
          {"threads", threads},
          {"out", out},
          {"checkpoint_every", checkpoint_every},
          {"keep_checkpoints", keep_checkpoints},
          {"save_dtype", save_dtype},
          {"eval_every", eval_every},
          {"eval_batches", eval_batches},
          {"log_every", log_every},
          {"progress", progress}};
  // only when used, so the recorded configuration of a run without it is what it always was
  if (sft_mix_every > 0)
    j["sft_mix"] = {{"train", sft_mix_data}, {"every", sft_mix_every}, {"batch_size", sft_mix_batch}};
  return j;
}

void TrainConfig::validate() const {
  LLADA_CHECK(!init_from.empty() || !model_json.is_null(),
              "training configuration: give model.init_from (a model directory) or model.config");
  LLADA_CHECK(!train_data.empty(), "training configuration: data.train is empty");
  LLADA_CHECK(!out.empty(), "training configuration: out (the run directory) is not set");
  LLADA_CHECK(seq_len >= 2, "training configuration: seq_len must be >= 2, found %lld", (long long)seq_len);
  LLADA_CHECK(batch_size >= 1, "training configuration: batch_size must be >= 1");
  LLADA_CHECK(grad_accum >= 1, "training configuration: grad_accum must be >= 1");
  LLADA_CHECK(steps >= 1, "training configuration: steps must be >= 1");
  LLADA_CHECK(eps > 0 && eps < 1, "training configuration: diffusion.eps must be in (0, 1), found %g", eps);
  LLADA_CHECK(random_length_prob >= 0 && random_length_prob <= 1,
              "training configuration: diffusion.random_length_prob must be in [0, 1]");
  (void)mask_weighting_from_name(mask_weighting);  // throws naming diffusion.weighting
  LLADA_CHECK(prompt_mask_prob >= 0 && prompt_mask_prob <= 1,
              "training configuration: sft.prompt_mask_prob must be in [0, 1]");
  LLADA_CHECK(sft_pad == "fixed" || sft_pad == "batch",
              "training configuration: sft.pad must be fixed or batch, found '%s'", sft_pad.c_str());
  LLADA_CHECK(sft_mix_every >= 0 && sft_mix_batch >= 0,
              "training configuration: sft_mix.every and sft_mix.batch_size must be >= 0");
  if (sft_mix_every > 0) {
    LLADA_CHECK(!sft_mix_data.empty(), "training configuration: sft_mix.every is set but sft_mix.train is empty");
    LLADA_CHECK(objective != Objective::Sft,
                "training configuration: sft_mix mixes SFT samples into pre-training; the sft objective "
                "trains on SFT samples alone (drop sft_mix or use objective diffusion / ar)");
  } else {
    LLADA_CHECK(sft_mix_data.empty(), "training configuration: sft_mix.train is given but sft_mix.every is 0 "
                "(set every: 1 for all steps, 2 for every other step, ...)");
  }
  LLADA_CHECK(adamw.beta1 >= 0 && adamw.beta1 < 1 && adamw.beta2 >= 0 && adamw.beta2 < 1,
              "training configuration: optim.betas must be in [0, 1)");
  LLADA_CHECK(adamw.weight_decay >= 0, "training configuration: optim.weight_decay must be >= 0");
  LLADA_CHECK(save_dtype == "bf16" || save_dtype == "f32",
              "training configuration: save_dtype must be bf16 or f32, found '%s'", save_dtype.c_str());
  LLADA_CHECK(precision == "f32" || precision == "bf16",
              "training configuration: precision must be f32 or bf16, found '%s'", precision.c_str());
  LLADA_CHECK(checkpoint_every >= 0 && eval_every >= 0 && log_every >= 1 && eval_batches >= 0,
              "training configuration: checkpoint_every/eval_every/eval_batches must be >= 0, log_every >= 1");
  Schedule s = schedule;
  s.total_steps = steps;
  s.validate();
}

}  // namespace llada::train
