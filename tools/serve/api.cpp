#include "api.h"

#include <algorithm>
#include <type_traits>
#include <variant>

#include "core/error.h"
#include "sample/ar_generate.h"
#include "tokenizer/tokenizer.h"

namespace llada::serve {

using nlohmann::json;

json ApiError::body() const {
  return {{"error", {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)},
                     {"code", nullptr}}}};
}

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& message) {
  throw ApiError{400, "invalid_request_error", message, param};
}

int64_t get_int(const json& j, const char* name, int64_t lo, int64_t hi) {
  const json& v = j.at(name);
  if (!v.is_number_integer() && !(v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>()))))
    bad(name, strformat("'%s' must be an integer, got %s", name, v.dump().c_str()));
  const int64_t x = v.is_number_integer() ? v.get<int64_t>() : int64_t(v.get<double>());
  if (x < lo || x > hi)
    bad(name, strformat("'%s' must be in [%lld, %lld], got %lld", name, (long long)lo, (long long)hi, (long long)x));
  return x;
}

bool get_bool(const json& j, const char* name) {
  const json& v = j.at(name);
  if (!v.is_boolean()) bad(name, strformat("'%s' must be true or false, got %s", name, v.dump().c_str()));
  return v.get<bool>();
}

std::string get_string(const json& j, const char* name) {
  const json& v = j.at(name);
  if (!v.is_string()) bad(name, strformat("'%s' must be a string, got %s", name, v.dump().c_str()));
  return v.get<std::string>();
}

// Every row of the option table the body sets, under the table's field names (max_tokens sets the
// length instead of gen_length).
std::vector<std::string> apply_option_fields(const json& body, sample::GenerateOptions& o) {
  std::vector<std::string> given;
  for (const sample::OptionField& f : sample::generate_option_fields()) {
    if (!body.contains(f.name) || body.at(f.name).is_null()) continue;
    if (f.name == std::string("gen_length")) bad(f.name, "set the length with 'max_tokens', not 'gen_length'");
    given.push_back(f.name);
    const json& v = body.at(f.name);
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(o.*member)>;
          if constexpr (std::is_same_v<T, bool>) {
            o.*member = get_bool(body, f.name);
          } else if constexpr (std::is_same_v<T, sample::Remasking>) {
            try {
              o.*member = sample::parse_remasking(get_string(body, f.name));
            } catch (const OptionError& e) {
              bad(f.name, e.what());
            }
          } else if constexpr (std::is_same_v<T, double>) {
            if (!v.is_number()) bad(f.name, strformat("'%s' must be a number, got %s", f.name, v.dump().c_str()));
            o.*member = v.get<double>();
          } else if constexpr (std::is_same_v<T, uint64_t>) {
            o.*member = uint64_t(get_int(body, f.name, 0, INT64_MAX));
          } else {  // int64_t or std::optional<int64_t>
            o.*member = get_int(body, f.name, INT64_MIN, INT64_MAX);
          }
        },
        f.member);
  }
  return given;
}

std::vector<int32_t> completion_prompt(const json& body, const sample::Session& s) {
  if (!body.contains("prompt")) bad("prompt", "'prompt' is required");
  const json& p = body.at("prompt");
  if (p.is_string()) return s.tokenizer("prompt").encode(p.get<std::string>(), false);
  if (p.is_array() && p.size() == 1 && p[0].is_string())
    return s.tokenizer("prompt").encode(p[0].get<std::string>(), false);
  if (p.is_array() && !p.empty() && std::all_of(p.begin(), p.end(), [](const json& x) { return x.is_number_integer(); })) {
    std::vector<int32_t> ids;
    for (const json& x : p) {
      const int64_t id = x.get<int64_t>();
      if (id < 0 || id >= s.sp.vocab) bad("prompt", strformat("token id %lld is outside the vocabulary [0, %lld)", (long long)id, (long long)s.sp.vocab));
      ids.push_back(int32_t(id));
    }
    return ids;
  }
  bad("prompt", "'prompt' must be a string, a one-string array or an array of token ids (one prompt per request)");
}

std::vector<int32_t> chat_prompt(const json& body, const sample::Session& s) {
  if (!body.contains("messages")) bad("messages", "'messages' is required");
  const json& m = body.at("messages");
  if (!m.is_array() || m.empty()) bad("messages", "'messages' must be a non-empty array");
  std::vector<ChatMessage> msgs;
  for (size_t i = 0; i < m.size(); ++i) {
    const std::string where = strformat("messages[%zu]", i);
    if (!m[i].is_object() || !m[i].contains("role") || !m[i]["role"].is_string())
      bad(where, where + " must be an object with a string 'role'");
    const std::string role = m[i]["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant")
      bad(where + ".role", strformat("%s.role must be system, user or assistant, got '%s'", where.c_str(), role.c_str()));
    const json& c = m[i].contains("content") ? m[i]["content"] : json(nullptr);
    std::string text;
    if (c.is_string()) {
      text = c.get<std::string>();
    } else if (c.is_array()) {  // [{"type": "text", "text": ...}]
      for (const json& part : c) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
          bad(where + ".content", where + ".content: only text parts ({\"type\": \"text\", \"text\": ...}) are supported");
        text += part["text"].get<std::string>();
      }
    } else {
      bad(where + ".content", where + ".content must be a string or an array of text parts");
    }
    msgs.push_back({role, text});
  }
  try {
    return encode_chat(s.tokenizer("messages"), msgs, /*add_generation_prompt=*/true, /*add_bos=*/true);
  } catch (const Error& e) {
    bad("messages", e.what());
  }
}

// Steps for a length the request did not give steps for: the server default's steps per token,
// rounded to a multiple of the blocks (at least one step per block); unset when the default is.
std::optional<int64_t> scaled_steps(const Defaults& d, int64_t gen_length, int64_t blocks) {
  if (!d.options.steps) return std::nullopt;
  const double per_token = double(*d.options.steps) / double(std::max<int64_t>(1, d.options.gen_length));
  const int64_t per_block = std::max<int64_t>(1, int64_t(per_token * double(gen_length) / double(blocks) + 0.5));
  return per_block * blocks;
}

}  // namespace

std::string Request::batch_key() const {
  json j = json::object();
  for (const sample::OptionField& f : sample::generate_option_fields())
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(options.*member)>;
          if constexpr (std::is_same_v<T, sample::Remasking>) j[f.name] = sample::remasking_name(options.*member);
          else if constexpr (std::is_same_v<T, std::optional<int64_t>>) j[f.name] = (options.*member).value_or(-1);
          else j[f.name] = options.*member;
        },
        f.member);
  j["cache"] = sample::cache_mode_name(cache);
  return j.dump();
}

Request parse_request(const json& body, Endpoint endpoint, const sample::Session& s, const Defaults& d) {
  if (!body.is_object()) bad("", "the request body must be a JSON object");
  Request r;
  r.endpoint = endpoint;
  if (body.contains("model") && !body["model"].is_null() && !body["model"].is_string())
    bad("model", "'model' must be a string");
  if (body.contains("n") && !body["n"].is_null() && get_int(body, "n", 1, 1) != 1) bad("n", "only n = 1 is supported");
  r.prompt = endpoint == Endpoint::Completions ? completion_prompt(body, s) : chat_prompt(body, s);

  sample::GenerateOptions o = d.options;
  std::vector<std::string> given = apply_option_fields(body, o);
  std::string cache = d.cache;
  if (body.contains("cache") && !body["cache"].is_null()) {
    cache = get_string(body, "cache");
    given.push_back("cache");
  }
  try {
    r.cache = sample::parse_cache_mode(cache);
  } catch (const Error&) {
    bad("cache", strformat("'cache' must be none, prefix or dual, got '%s'", cache.c_str()));
  }
  try {
    sample::check_family_options(s, given);
  } catch (const OptionError& e) {
    bad(e.field(), e.what());
  }

  const char* max_field = body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  const int64_t room = s.sp.max_len > 0 ? s.sp.max_len - int64_t(r.prompt.size()) : INT32_MAX;
  if (room < 1)
    bad(endpoint == Endpoint::Completions ? "prompt" : "messages",
        strformat("the prompt is %zu tokens; the model's context is %lld", r.prompt.size(), (long long)s.sp.max_len));
  r.max_tokens = body.contains(max_field) && !body[max_field].is_null()
                     ? get_int(body, max_field, 1, INT32_MAX)
                     : std::min<int64_t>(d.max_tokens > 0 ? d.max_tokens : d.options.gen_length, room);
  const bool diffusion = !s.model.cfg.causal;
  if (diffusion && !o.parallel()) {
    // The canvas is whole blocks: the length rounds up to a multiple of the block, the answer is
    // cut back to max_tokens.
    const int64_t block = o.block_length.value_or(r.max_tokens);
    if (block < 1) bad("block_length", "'block_length' must be positive");
    o.gen_length = (r.max_tokens + block - 1) / block * block;
    if (o.block_length && !body.contains("steps")) o.steps = scaled_steps(d, o.gen_length, o.gen_length / block);
    else if (!o.block_length && !body.contains("steps")) o.steps = scaled_steps(d, o.gen_length, 1);
  } else {
    const int64_t block = o.block_length.value_or(r.max_tokens);
    o.gen_length = diffusion ? (r.max_tokens + block - 1) / block * block : r.max_tokens;
  }
  if (int64_t(r.prompt.size()) + o.gen_length > (s.sp.max_len > 0 ? s.sp.max_len : INT64_MAX))
    bad(max_field, strformat("prompt (%zu tokens) + %s (%lld, rounded to whole blocks: %lld) exceeds the model's "
                             "context of %lld tokens",
                             r.prompt.size(), max_field, (long long)r.max_tokens, (long long)o.gen_length,
                             (long long)s.sp.max_len));
  try {
    sample::validate_options(o);
    o.steps = o.total_steps();
    o.block_length = o.block();
    if (o.infill && r.cache != sample::CacheMode::None) bad("infill", "'infill' needs 'cache': 'none'");
    if (s.model.cfg.causal) sample::validate_autoregressive({r.prompt}, s.sp, o);
    else sample::validate({r.prompt}, s.sp, o);
  } catch (const OptionError& e) {
    bad(e.field(), e.what());
  } catch (const Error& e) {
    bad("", e.what());
  }
  r.options = o;

  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& st = body["stop"];
    if (st.is_string()) r.stop.push_back(st.get<std::string>());
    else if (st.is_array() && st.size() <= 4 && std::all_of(st.begin(), st.end(), [](const json& x) { return x.is_string(); }))
      for (const json& x : st) r.stop.push_back(x.get<std::string>());
    else bad("stop", "'stop' must be a string or an array of at most 4 strings");
    r.stop.erase(std::remove(r.stop.begin(), r.stop.end(), std::string()), r.stop.end());
  }
  if (body.contains("stream") && !body["stream"].is_null()) r.stream = get_bool(body, "stream");
  if (body.contains("diffusion_frames") && !body["diffusion_frames"].is_null())
    r.diffusion_frames = get_bool(body, "diffusion_frames");
  if (body.contains("stream_options") && body["stream_options"].is_object() &&
      body["stream_options"].contains("include_usage"))
    r.include_usage = get_bool(body["stream_options"], "include_usage");
  return r;
}

namespace {

// Cuts `text` before the first stop string; true when one was found.
bool cut_at_stop(std::string& text, const std::vector<std::string>& stop) {
  size_t at = std::string::npos;
  for (const std::string& s : stop) at = std::min(at, text.find(s));
  if (at == std::string::npos) return false;
  text.resize(at);
  return true;
}

std::string decode(const sample::Session& s, const std::vector<int32_t>& ids) {
  return s.tok ? s.tok->decode(ids, /*skip_special=*/true) : sample::join_ids(ids);
}

bool is_end(const sample::Session& s, int32_t id) { return id == s.sp.eos || (s.sp.eot >= 0 && id == s.sp.eot); }

}  // namespace

Answer final_answer(const sample::Session& s, const Request& r, const std::vector<int32_t>& generated) {
  Answer a;
  std::vector<int32_t> ids;
  bool ended = false;
  for (int32_t id : generated) {
    if (is_end(s, id)) {
      ended = true;
      break;
    }
    if (int64_t(ids.size()) == r.max_tokens) break;
    ids.push_back(id);
  }
  a.text = decode(s, ids);
  ended = cut_at_stop(a.text, r.stop) || ended;
  a.tokens = int64_t(ids.size());
  a.finish_reason = ended ? "stop" : "length";
  return a;
}

Partial committed_text(const sample::Session& s, const Request& r, const int32_t* row, int64_t gen_length) {
  sample::CommittedPrefix c = sample::committed_prefix(s.sp, row, gen_length);
  Partial p;
  p.ended = c.ended;
  if (int64_t(c.ids.size()) >= r.max_tokens) {
    c.ids.resize(size_t(r.max_tokens));
    p.ended = true;
  }
  p.text = decode(s, c.ids);
  if (cut_at_stop(p.text, r.stop)) p.ended = true;
  return p;
}

json usage_json(const Request& r, const Answer& a, const Timings& t) {
  return {{"prompt_tokens", int64_t(r.prompt.size())},
          {"completion_tokens", a.tokens},
          {"total_tokens", int64_t(r.prompt.size()) + a.tokens},
          {"timings",
           {{"model_calls", t.model_calls},
            {"seconds", t.seconds},
            {"tokens_per_call", t.tokens_per_call},
            {"tokens_per_second", t.tokens_per_second}}}};
}

json response_body(const Request& r, const std::string& id, const std::string& model, int64_t created,
                   const Answer& a, const Timings& t) {
  json choice = {{"index", 0}, {"finish_reason", a.finish_reason}, {"logprobs", nullptr}};
  if (r.endpoint == Endpoint::Completions) choice["text"] = a.text;
  else choice["message"] = {{"role", "assistant"}, {"content", a.text}};
  return {{"id", id},
          {"object", r.endpoint == Endpoint::Completions ? "text_completion" : "chat.completion"},
          {"created", created},
          {"model", model},
          {"choices", json::array({choice})},
          {"usage", usage_json(r, a, t)}};
}

json chunk_body(const Request& r, const std::string& id, const std::string& model, int64_t created,
                const std::string& delta, const std::optional<std::string>& finish_reason, const json& frame) {
  json choice = {{"index", 0}, {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)}};
  if (r.endpoint == Endpoint::Completions) choice["text"] = delta;
  else choice["delta"] = delta.empty() && !finish_reason ? json::object() : json{{"content", delta}};
  json j = {{"id", id},
            {"object", r.endpoint == Endpoint::Completions ? "text_completion" : "chat.completion.chunk"},
            {"created", created},
            {"model", model},
            {"choices", json::array({choice})}};
  if (!frame.is_null()) j["diffusion_frame"] = frame;
  return j;
}

}  // namespace llada::serve
