// encode / decode: the reference's pipeline (added tokens -> normalizer -> pre-tokenizer -> BPE).
#include <deque>

#include "core/error.h"
#include "tokenizer/nfc.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"

namespace llada {

namespace {

struct Section {
  std::string_view text;
  int32_t added = -1;  // id of the added token this section is, or -1 for ordinary text
};

// Splits text at the added tokens of `trie` (leftmost-longest) and applies their lstrip/rstrip to the
// neighbouring sections, as the reference does.
void split_added(const TokenizerImpl& t, const TokenTrie& trie, std::string_view text,
                 std::vector<Section>* out) {
  out->clear();
  size_t start = 0;
  for (size_t i = 0; i < text.size();) {
    int32_t id = -1;
    size_t n = trie.empty() ? 0 : trie.match(text, i, &id);
    if (n == 0) {
      ++i;
      continue;
    }
    if (i > start) out->push_back({text.substr(start, i - start), -1});
    out->push_back({text.substr(i, n), id});
    i += n;
    start = i;
  }
  if (start < text.size()) out->push_back({text.substr(start), -1});
  auto& v = *out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].added < 0) continue;
    const AddedTokenInfo& a = t.added[size_t(t.added_index[size_t(v[i].added)])];
    if (a.lstrip && i > 0 && v[i - 1].added < 0) v[i - 1].text = utf8::trim_end(v[i - 1].text, utf8::is_js_space);
    if (a.rstrip && i + 1 < v.size() && v[i + 1].added < 0)
      v[i + 1].text = utf8::trim_start(v[i + 1].text, utf8::is_js_space);
  }
}

// Scratch buffers of the pre-tokenizer, reused so encoding does not allocate per word.
struct PreScratch {
  std::vector<std::string_view> a, b;
  std::vector<std::pair<size_t, size_t>> matches;
  std::deque<std::string> owned;  // texts created by add_prefix_space (a deque keeps views valid)
};

void apply_regex(const Regex& re, bool removed, std::string_view text, PreScratch& s,
                 std::vector<std::string_view>* out) {
  s.matches.clear();
  re.find_all(text, &s.matches);
  size_t prev = 0;
  for (auto [st, en] : s.matches) {
    if (st > prev) out->push_back(text.substr(prev, st - prev));
    if (en > st && !removed) out->push_back(text.substr(st, en - st));
    prev = en;
  }
  if (prev < text.size()) out->push_back(text.substr(prev));
}

}  // namespace

void TokenizerImpl::encode_plain(std::string_view text, std::vector<int32_t>* out) const {
  thread_local PreScratch s;
  s.a.clear();
  s.owned.clear();
  s.a.push_back(text);
  for (const PreTokStep& step : pre) {
    s.b.clear();
    for (std::string_view piece : s.a) {
      if (step.kind == PreTokStep::kSplit) {
        apply_regex(*step.regex, step.removed, piece, s, &s.b);
        continue;
      }
      if (step.add_prefix_space && (piece.empty() || piece[0] != ' ')) {
        std::string& spaced = s.owned.emplace_back(1, ' ');
        spaced.append(piece);
        piece = spaced;
      }
      if (step.regex) {
        // The reference keeps only the matches here (text.match); every character matches one of
        // the alternatives, so nothing is lost on valid UTF-8. Invalid bytes are kept as gaps.
        apply_regex(*step.regex, false, piece, s, &s.b);
      } else {
        s.b.push_back(piece);
      }
    }
    std::swap(s.a, s.b);
  }
  for (std::string_view word : s.a) model.encode_word(word, out);
}

std::string TokenizerImpl::normalize(std::string_view text) const {
  std::string s(text);
  for (NormalizerKind k : normalizers) {
    if (k == NormalizerKind::kNFC) s = nfc(s);
  }
  return s;
}

void TokenizerImpl::encode_into(std::string_view text, bool add_special, std::vector<int32_t>* out) const {
  auto body = [&]() {
    std::vector<Section> secs;
    split_added(*this, raw_trie, text, &secs);
    for (const Section& sec : secs) {
      if (sec.text.empty()) continue;
      if (sec.added >= 0) {
        out->push_back(sec.added);
        continue;
      }
      if (normalizers.empty()) {
        encode_plain(sec.text, out);
        continue;
      }
      std::string norm = normalize(sec.text);
      std::vector<Section> subs;
      split_added(*this, normalized_trie, norm, &subs);
      for (const Section& s2 : subs) {
        if (s2.text.empty()) continue;
        if (s2.added >= 0) {
          out->push_back(s2.added);
        } else {
          encode_plain(s2.text, out);
        }
      }
    }
  };
  if (!add_special || template_single.empty()) {
    body();
    return;
  }
  for (const std::string& item : template_single) {
    if (item == "$A") {
      body();
    } else {
      out->push_back(text_to_id.find(item)->second);
    }
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  LLADA_CHECK(impl_, "encode: the tokenizer was not loaded (default-constructed Tokenizer)");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  impl_->encode_into(text, add_special, &out);
  return out;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                                          bool add_special) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  std::string first_error;
#pragma omp parallel for schedule(dynamic, 16)
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      out[i] = encode(texts[i], add_special);
    } catch (const std::exception& e) {
#pragma omp critical
      if (first_error.empty()) first_error = e.what();
    }
  }
  if (!first_error.empty()) fail(first_error);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  LLADA_CHECK(impl_, "decode: the tokenizer was not loaded (default-constructed Tokenizer)");
  std::string out;
  for (int32_t id : ids) {
    LLADA_CHECK(id >= 0 && id < impl_->vocab_size && !impl_->vocab_text[size_t(id)].empty(),
                "decode: token id %d is not in the vocabulary (size %lld)", id, (long long)impl_->vocab_size);
    if (skip_special && is_special(id)) continue;
    out += token_to_piece(id);
  }
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id) const {
  const TokenizerImpl& t = *impl_;
  if (id < 0 || id >= t.vocab_size) return "";
  if (t.added_index[size_t(id)] >= 0) return t.added[size_t(t.added_index[size_t(id)])].content;
  if (size_t(id) < t.model.size() && !t.model.piece(id).empty()) return t.model.piece(id);
  return t.vocab_text[size_t(id)];
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= impl_->vocab_size) return "";
  return impl_->vocab_text[size_t(id)];
}

int32_t Tokenizer::token_id(std::string_view token) const {
  auto it = impl_->text_to_id.find(token);
  return it == impl_->text_to_id.end() ? -1 : it->second;
}

bool Tokenizer::is_special(int32_t id) const {
  if (id < 0 || id >= impl_->vocab_size) return false;
  int32_t a = impl_->added_index[size_t(id)];
  return a >= 0 && impl_->added[size_t(a)].special;
}

int64_t Tokenizer::vocab_size() const { return impl_->vocab_size; }
SpecialIds Tokenizer::special() const { return impl_->special; }
const std::string& Tokenizer::chat_template() const { return impl_->chat_template; }

Tokenizer::Tokenizer() = default;
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::Tokenizer(const Tokenizer&) = default;
Tokenizer& Tokenizer::operator=(const Tokenizer&) = default;

}  // namespace llada
