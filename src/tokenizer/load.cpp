// Reading tokenizer.json / tokenizer_config.json into a TokenizerImpl. Every field we do not implement
// is rejected by name, so a tokenizer either encodes exactly like the reference or does not load.
#include <algorithm>

#include "core/error.h"
#include "core/file_io.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/tokenizer_impl.h"

namespace llada {

using nlohmann::json;

namespace {

struct Ctx {
  const std::string& origin;
  [[noreturn]] void error(const std::string& field, const std::string& msg) const {
    fail(strformat("%s: %s: %s", origin.c_str(), field.c_str(), msg.c_str()));
  }
  const json& get(const json& obj, const std::string& key, const std::string& field) const {
    if (!obj.is_object()) error(field, "expected an object, found " + std::string(obj.type_name()));
    auto it = obj.find(key);
    if (it == obj.end()) error(field + "." + key, "missing");
    return *it;
  }
  bool get_bool(const json& obj, const std::string& key, bool dflt, const std::string& field) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return dflt;
    if (!it->is_boolean()) error(field + "." + key, "expected true/false, found " + it->dump());
    return it->get<bool>();
  }
  std::string get_string(const json& obj, const std::string& key, const std::string& field) const {
    const json& v = get(obj, key, field);
    if (!v.is_string()) error(field + "." + key, "expected a string, found " + v.dump());
    return v.get<std::string>();
  }
  std::string type_of(const json& obj, const std::string& field) const {
    if (!obj.is_object()) error(field, "expected an object, found " + obj.dump().substr(0, 80));
    return get_string(obj, "type", field);
  }
};

// A name from tokenizer_config.json: "x" or {"content": "x", ...}.
std::string config_token(const json& cfg, const char* key) {
  if (!cfg.is_object()) return "";
  auto it = cfg.find(key);
  if (it == cfg.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
    return (*it)["content"].get<std::string>();
  return "";
}

void load_normalizer(const Ctx& c, const json& n, const std::string& field, TokenizerImpl* t) {
  if (n.is_null()) return;
  std::string type = c.type_of(n, field);
  if (type == "NFC") {
    t->normalizers.push_back(NormalizerKind::kNFC);
  } else if (type == "Sequence") {
    const json& list = c.get(n, "normalizers", field);
    if (!list.is_array()) c.error(field + ".normalizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      load_normalizer(c, list[i], field + ".normalizers[" + std::to_string(i) + "]", t);
  } else {
    c.error(field + ".type", "normalizer '" + type + "' is not supported (supported: NFC, Sequence)");
  }
}

// The regex the reference's ByteLevel pre-tokenizer uses when use_regex is true. Its \s is JavaScript's
// (with U+FEFF, without U+0085), written out here because the reference is the arbiter of exactness.
const char* kByteLevelRegex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\t-\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}"
    "\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}\\p{L}\\p{N}]+|"
    "[\\t-\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]+"
    "(?![^\\t-\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}])|"
    "[\\t-\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}]+";

std::string escape_regex_literal(const std::string& s) {
  std::string out = "\\Q" + s + "\\E";
  LLADA_CHECK(s.find("\\E") == std::string::npos, "split string '%s' contains \\E", s.c_str());
  return out;
}

void load_pre_tokenizer(const Ctx& c, const json& p, const std::string& field, TokenizerImpl* t) {
  std::string type = c.type_of(p, field);
  if (type == "Sequence") {
    const json& list = c.get(p, "pretokenizers", field);
    if (!list.is_array()) c.error(field + ".pretokenizers", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      load_pre_tokenizer(c, list[i], field + ".pretokenizers[" + std::to_string(i) + "]", t);
    return;
  }
  if (!t->pre.empty() && t->pre.back().kind == PreTokStep::kByteLevel)
    c.error(field, "pre-tokenizer '" + type + "' after ByteLevel is not supported");
  PreTokStep step;
  if (type == "Split") {
    const json& pat = c.get(p, "pattern", field);
    std::string regex;
    if (pat.is_object() && pat.contains("Regex") && pat["Regex"].is_string()) {
      regex = pat["Regex"].get<std::string>();
    } else if (pat.is_object() && pat.contains("String") && pat["String"].is_string()) {
      regex = escape_regex_literal(pat["String"].get<std::string>());
    } else {
      c.error(field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}, found " + pat.dump());
    }
    std::string behavior = c.get_string(p, "behavior", field);
    if (behavior == "Removed") {
      step.removed = true;
    } else if (behavior != "Isolated") {
      c.error(field + ".behavior", "Split behavior '" + behavior +
                                       "' is not supported (supported: Isolated, Removed)");
    }
    if (c.get_bool(p, "invert", false, field)) c.error(field + ".invert", "invert=true is not supported");
    step.kind = PreTokStep::kSplit;
    step.regex = std::make_shared<Regex>(regex, c.origin + ": " + field + ".pattern");
  } else if (type == "ByteLevel") {
    step.kind = PreTokStep::kByteLevel;
    step.add_prefix_space = c.get_bool(p, "add_prefix_space", false, field);
    if (c.get_bool(p, "use_regex", true, field))
      step.regex = std::make_shared<Regex>(kByteLevelRegex, c.origin + ": " + field);
  } else {
    c.error(field + ".type", "pre-tokenizer '" + type +
                                 "' is not supported (supported: Split, ByteLevel, Sequence)");
  }
  t->pre.push_back(std::move(step));
}

void load_post_processor(const Ctx& c, const json& p, const std::string& field, TokenizerImpl* t) {
  if (p.is_null()) return;
  std::string type = c.type_of(p, field);
  if (type == "ByteLevel") return;  // only adjusts offsets, which we do not report
  if (type == "Sequence") {
    const json& list = c.get(p, "processors", field);
    if (!list.is_array()) c.error(field + ".processors", "expected an array");
    for (size_t i = 0; i < list.size(); ++i)
      load_post_processor(c, list[i], field + ".processors[" + std::to_string(i) + "]", t);
    return;
  }
  if (type != "TemplateProcessing")
    c.error(field + ".type", "post-processor '" + type +
                                 "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
  if (!t->template_single.empty()) c.error(field, "more than one TemplateProcessing");
  const json& single = c.get(p, "single", field);
  if (!single.is_array()) c.error(field + ".single", "expected an array");
  for (size_t i = 0; i < single.size(); ++i) {
    std::string f = field + ".single[" + std::to_string(i) + "]";
    const json& item = single[i];
    if (item.is_object() && item.contains("Sequence")) {
      std::string id = c.get_string(item["Sequence"], "id", f + ".Sequence");
      if (id != "A") c.error(f, "sequence '" + id + "' in a single-sequence template");
      t->template_single.push_back("$A");
    } else if (item.is_object() && item.contains("SpecialToken")) {
      t->template_single.push_back(c.get_string(item["SpecialToken"], "id", f + ".SpecialToken"));
    } else {
      c.error(f, "expected {\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
}

std::vector<std::pair<std::string, std::string>> read_merges(const Ctx& c, const json& merges) {
  if (!merges.is_array()) c.error("model.merges", "expected an array");
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    if (m.is_string()) {  // legacy "left right"
      const std::string& s = m.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
        c.error("model.merges[" + std::to_string(i) + "]", "expected \"left right\", found \"" + s + "\"");
      out.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      out.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      c.error("model.merges[" + std::to_string(i) + "]", "expected a pair of strings, found " + m.dump());
    }
  }
  return out;
}

void load_model(const Ctx& c, const json& m, TokenizerImpl* t) {
  if (!m.is_object()) c.error("model", "expected an object");
  if (m.contains("type")) {
    std::string type = c.get_string(m, "type", "model");
    if (type != "BPE") c.error("model.type", "model '" + type + "' is not supported (supported: BPE)");
  }
  if (m.contains("dropout") && !m["dropout"].is_null() && !(m["dropout"].is_number() && m["dropout"] == 0))
    c.error("model.dropout", "BPE dropout is not supported");
  for (const char* k : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (m.contains(k) && !m[k].is_null() && !(m[k].is_string() && m[k].get<std::string>().empty()))
      c.error(std::string("model.") + k, "is not supported");
  }
  const json& vocab = c.get(m, "vocab", "model");
  if (!vocab.is_object()) c.error("model.vocab", "expected an object of token -> id");
  int64_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 || it.value().get<int64_t>() > INT32_MAX)
      c.error("model.vocab[\"" + it.key() + "\"]", "expected an id >= 0, found " + it.value().dump());
    max_id = std::max(max_id, it.value().get<int64_t>());
  }
  for (const AddedTokenInfo& a : t->added) max_id = std::max(max_id, int64_t(a.id));
  t->vocab_size = max_id + 1;
  t->vocab_text.assign(size_t(max_id + 1), std::string());
  std::vector<std::string> pieces(size_t(max_id + 1));
  std::vector<bool> seen(size_t(max_id + 1), false);
  StringIdMap by_text;
  by_text.reserve(vocab.size());
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    size_t id = size_t(it.value().get<int64_t>());
    by_text.emplace(it.key(), int32_t(id));
    if (seen[id]) c.error("model.vocab[\"" + it.key() + "\"]", "id " + std::to_string(id) + " is used twice");
    seen[id] = true;
    t->vocab_text[id] = it.key();
    // Tokens outside the byte-level alphabet can never come out of byte-level BPE; they keep their text.
    if (!byte_level::decode(it.key(), &pieces[id])) pieces[id].clear();
  }
  for (int b = 0; b < 256; ++b) {
    std::string name = byte_level::encode(std::string(1, char(b)));
    if (!by_text.count(name))
      c.error("model.vocab", strformat("lacks the byte-level token \"%s\" for byte 0x%02X", name.c_str(), b));
  }
  auto merges = read_merges(c, c.get(m, "merges", "model"));
  std::vector<std::pair<int32_t, int32_t>> merge_ids;
  merge_ids.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    auto& [a, b] = merges[i];
    auto ia = by_text.find(a), ib = by_text.find(b), im = by_text.find(a + b);
    auto f = [&] { return "model.merges[" + std::to_string(i) + "]"; };
    if (ia == by_text.end()) c.error(f(), "token \"" + a + "\" is not in model.vocab");
    if (ib == by_text.end()) c.error(f(), "token \"" + b + "\" is not in model.vocab");
    if (im == by_text.end()) c.error(f(), "merged token \"" + a + b + "\" is not in model.vocab");
    merge_ids.emplace_back(ia->second, ib->second);
  }
  t->model.init(std::move(pieces), merge_ids, c.get_bool(m, "ignore_merges", false, "model"));
}

void load_added_tokens(const Ctx& c, TokenizerImpl* t) {
  const json& list = t->json.contains("added_tokens") ? t->json["added_tokens"] : json::array();
  if (!list.is_array()) c.error("added_tokens", "expected an array");
  for (size_t i = 0; i < list.size(); ++i) {
    std::string f = "added_tokens[" + std::to_string(i) + "]";
    const json& a = list[i];
    AddedTokenInfo info;
    const json& id = c.get(a, "id", f);
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      c.error(f + ".id", "expected an id >= 0, found " + id.dump());
    info.id = id.get<int32_t>();
    info.content = c.get_string(a, "content", f);
    if (info.content.empty()) c.error(f + ".content", "empty");
    info.special = c.get_bool(a, "special", false, f);
    info.lstrip = c.get_bool(a, "lstrip", false, f);
    info.rstrip = c.get_bool(a, "rstrip", false, f);
    info.normalized = c.get_bool(a, "normalized", !info.special, f);
    if (c.get_bool(a, "single_word", false, f)) c.error(f + ".single_word", "single_word=true is not supported");
    t->added.push_back(std::move(info));
  }
}

}  // namespace

void TokenTrie::add(const std::string& s, int32_t value) {
  int32_t node = 0;
  for (unsigned char ch : s) {
    int32_t nx = -1;
    for (auto& [b, idx] : nodes_[size_t(node)].next)
      if (b == ch) nx = idx;
    if (nx < 0) {
      nx = int32_t(nodes_.size());
      nodes_[size_t(node)].next.emplace_back(ch, nx);
      nodes_.emplace_back();
    }
    node = nx;
  }
  nodes_[size_t(node)].value = value;
  first_byte_[static_cast<unsigned char>(s[0])] = true;
}

size_t TokenTrie::match(std::string_view text, size_t i, int32_t* value) const {
  if (!first_byte_[static_cast<unsigned char>(text[i])]) return 0;
  size_t best = 0;
  int32_t node = 0;
  for (size_t j = i; j < text.size(); ++j) {
    int32_t nx = -1;
    for (auto& [b, idx] : nodes_[size_t(node)].next)
      if (b == static_cast<unsigned char>(text[j])) nx = idx;
    if (nx < 0) break;
    node = nx;
    if (nodes_[size_t(node)].value >= 0) {
      best = j + 1 - i;
      *value = nodes_[size_t(node)].value;
    }
  }
  return best;
}

Tokenizer Tokenizer::from_json(std::string_view tokenizer_json, std::string_view config_json,
                               const std::string& origin) {
  auto t = std::make_shared<TokenizerImpl>();
  t->origin = origin;
  Ctx c{t->origin};
  try {
    t->json = json::parse(tokenizer_json);
  } catch (const json::exception& e) {
    fail(strformat("%s: not valid JSON: %s", origin.c_str(), e.what()));
  }
  if (!t->json.is_object()) c.error("(root)", "expected an object");
  std::string cfg_origin = origin;
  if (auto slash = cfg_origin.rfind('/'); slash != std::string::npos) cfg_origin.resize(slash + 1);
  else cfg_origin.clear();
  cfg_origin += "tokenizer_config.json";
  if (!config_json.empty()) {
    try {
      t->config = json::parse(config_json);
    } catch (const json::exception& e) {
      fail(strformat("%s: not valid JSON: %s", cfg_origin.c_str(), e.what()));
    }
    if (!t->config.is_object()) fail(strformat("%s: expected an object", cfg_origin.c_str()));
  } else {
    t->config = json::object();
  }
  for (const char* k : {"truncation", "padding"}) {
    if (t->json.contains(k) && !t->json[k].is_null()) c.error(k, "is not supported (expected null)");
  }
  load_added_tokens(c, t.get());
  load_model(c, c.get(t->json, "model", "(root)"), t.get());
  load_normalizer(c, t->json.value("normalizer", json()), "normalizer", t.get());
  const json& pre = t->json.contains("pre_tokenizer") ? t->json["pre_tokenizer"] : json();
  if (pre.is_null()) c.error("pre_tokenizer", "null is not supported: a ByteLevel pre-tokenizer is required");
  load_pre_tokenizer(c, pre, "pre_tokenizer", t.get());
  if (t->pre.back().kind != PreTokStep::kByteLevel)
    c.error("pre_tokenizer", "must end with a ByteLevel pre-tokenizer (byte-level BPE)");
  load_post_processor(c, t->json.value("post_processor", json()), "post_processor", t.get());
  const json& dec = t->json.contains("decoder") ? t->json["decoder"] : json();
  if (dec.is_null() || c.type_of(dec, "decoder") != "ByteLevel")
    c.error("decoder", "only the ByteLevel decoder is supported, found " + dec.dump().substr(0, 80));

  // Added tokens override the vocabulary's text for their id and are matched before pre-tokenization
  // (normalized ones after normalization, when there is a normalizer).
  t->added_index.assign(size_t(t->vocab_size), -1);
  for (size_t i = 0; i < t->added.size(); ++i) {
    const AddedTokenInfo& a = t->added[i];
    t->vocab_text[size_t(a.id)] = a.content;
    t->added_index[size_t(a.id)] = int32_t(i);
    if (a.normalized && !t->normalizers.empty()) {
      t->normalized_trie.add(t->normalize(a.content), a.id);
    } else {
      t->raw_trie.add(a.content, a.id);
    }
  }
  t->text_to_id.reserve(t->vocab_text.size());
  for (size_t id = 0; id < t->vocab_text.size(); ++id) {
    if (!t->vocab_text[id].empty()) t->text_to_id[t->vocab_text[id]] = int32_t(id);
  }
  for (const std::string& s : t->template_single) {
    if (s != "$A" && !t->text_to_id.count(s))
      c.error("post_processor", "template token \"" + s + "\" is not in the vocabulary");
  }

  // Special ids: names from tokenizer_config.json first, then the LLaDA / LLaMA-3 conventions.
  auto id_of = [&](std::initializer_list<std::string> names) {
    for (const std::string& n : names) {
      if (n.empty()) continue;
      auto it = t->text_to_id.find(n);
      if (it != t->text_to_id.end()) return it->second;
    }
    return int32_t(-1);
  };
  const json& cfg = t->config;
  t->special.bos = id_of({config_token(cfg, "bos_token"), "<|startoftext|>", "<|begin_of_text|>", "<s>"});
  t->special.eos = id_of({config_token(cfg, "eos_token"), "<|endoftext|>", "<|end_of_text|>", "</s>"});
  t->special.pad = id_of({config_token(cfg, "pad_token")});
  if (t->special.pad < 0) t->special.pad = t->special.eos;
  t->special.mask = id_of({"<|mdm_mask|>"});
  t->special.eot = id_of({"<|eot_id|>"});
  t->special.start_header = id_of({"<|start_header_id|>"});
  t->special.end_header = id_of({"<|end_header_id|>"});
  if (cfg.contains("chat_template")) {
    const json& ct = cfg["chat_template"];
    if (ct.is_string()) {
      t->chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {  // [{"name": "default", "template": ...}, ...]
      for (const json& e : ct)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template"))
          t->chat_template = e["template"].get<std::string>();
    }
  }
  Tokenizer out;
  out.impl_ = std::move(t);
  return out;
}

Tokenizer Tokenizer::load(const std::string& path) {
  std::string file = path;
  if (!file_exists(file) || (file.size() < 5 || file.substr(file.size() - 5) != ".json")) {
    std::string in_dir = path + (path.empty() || path.back() == '/' ? "" : "/") + "tokenizer.json";
    if (file_exists(in_dir)) file = in_dir;
  }
  LLADA_CHECK(file_exists(file), "tokenizer: '%s' is neither a tokenizer.json nor a directory holding one",
              path.c_str());
  std::string dir = file.rfind('/') == std::string::npos ? "" : file.substr(0, file.rfind('/') + 1);
  std::string cfg_path = dir + "tokenizer_config.json";
  std::string cfg = file_exists(cfg_path) ? read_file(cfg_path) : std::string();
  return from_json(read_file(file), cfg, file);
}

}  // namespace llada
