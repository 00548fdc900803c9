// Unit tests that need no reference: round trips (invalid UTF-8 included), errors on bad files, the
// chat format, batch encoding, save/load.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "sample_texts.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"

namespace llada {
namespace {

const Tokenizer& small_bpe() {
  static const Tokenizer tok = [] {
    std::vector<std::string> corpus;
    for (int r = 0; r < 4; ++r)
      for (const auto& t : test::sample_texts()) corpus.push_back(t);
    TrainOptions opt;
    opt.vocab_size = 700;
    opt.show_progress = false;
    return train_bpe_from_texts(corpus, opt);
  }();
  return tok;
}

TEST(ByteLevel, AlphabetIsABijection) {
  for (int b = 0; b < 256; ++b) EXPECT_EQ(byte_level::char_to_byte(byte_level::byte_to_char(uint8_t(b))), b);
  EXPECT_EQ(byte_level::byte_to_char(' '), 0x120u);  // 'Ġ'
  EXPECT_EQ(byte_level::byte_to_char('\n'), 0x10Au); // 'Ċ'
  std::string all;
  for (int b = 0; b < 256; ++b) all += char(b);
  std::string back;
  ASSERT_TRUE(byte_level::decode(byte_level::encode(all), &back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(byte_level::decode("\xe4\xb8\xad", &back));  // 中 is not in the alphabet
}

TEST(Regex, RewritesOnigurumaConstructs) {
  EXPECT_EQ(rewrite_pattern("(?i:'s|'t)"), "(?:'[sS]|'[tT])");
  EXPECT_EQ(rewrite_pattern("\\s+(?!\\S)"), "[\\t-\\r\\x{85}\\p{Z}]+(?![^\\t-\\r\\x{85}\\p{Z}])");
  EXPECT_EQ(rewrite_pattern("[^\\s\\p{L}]"), "[^\\t-\\r\\x{85}\\p{Z}\\p{L}]");
  Regex re("\\s+", "test");
  std::vector<std::pair<size_t, size_t>> m;
  re.find_all("a \xe1\xa0\x8e b", &m);  // U+180E is not White_Space
  ASSERT_EQ(m.size(), 2u);
}

TEST(Encode, RoundTripsValidAndInvalidUtf8) {
  const Tokenizer& tok = small_bpe();
  for (const auto& t : test::sample_texts()) EXPECT_EQ(tok.decode(tok.encode(t)), t);
  std::vector<std::string> bad = {"\xff", "\xc3", "a\x80z", "\xed\xa0\x80 surrogate", "\xf4\x90\x80\x80",
                                  "ok \xe4\xb8 cut", std::string("nul\0byte", 8), "\xc0\xaf overlong"};
  uint64_t s = 7;
  for (int k = 0; k < 200; ++k) {
    std::string r;
    for (int j = 0; j < 40; ++j) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      r += char(s >> 56);
    }
    bad.push_back(r);
  }
  for (const auto& t : bad) {
    auto ids = tok.encode(t);
    EXPECT_EQ(tok.decode(ids), t);
    for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < tok.vocab_size());
  }
}

TEST(Encode, SpecialTokensAreMatchedInText) {
  const Tokenizer& tok = small_bpe();
  SpecialIds sp = tok.special();
  auto ids = tok.encode("a<|mdm_mask|>b<|eot_id|>");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), sp.mask), 1);
  EXPECT_EQ(ids.back(), sp.eot);
  EXPECT_EQ(tok.decode(ids, /*skip_special=*/true), "ab");
  EXPECT_EQ(tok.decode(ids), "a<|mdm_mask|>b<|eot_id|>");
  EXPECT_EQ(tok.token_to_piece(sp.mask), "<|mdm_mask|>");
  EXPECT_EQ(tok.token_id("<|mdm_mask|>"), sp.mask);
  EXPECT_EQ(tok.token_id("no such token"), -1);
  EXPECT_THROW(tok.decode({int32_t(tok.vocab_size())}), Error);
  EXPECT_THROW(tok.decode({-1}), Error);
}

TEST(Encode, BatchEqualsSequential) {
  const Tokenizer& tok = small_bpe();
  auto texts = test::sample_texts();
  auto batch = tok.encode_batch(texts);
  ASSERT_EQ(batch.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i], tok.encode(texts[i]));
}

TEST(Encode, LongWordsAreNotQuadratic) {
  const Tokenizer& tok = small_bpe();
  std::string word(200000, 'a');  // one pre-token of 200 KB
  auto ids = tok.encode(word);
  EXPECT_EQ(tok.decode(ids), word);
  std::string spaces(100000, ' ');
  EXPECT_EQ(tok.decode(tok.encode(spaces + "x" + spaces)), spaces + "x" + spaces);
}

TEST(Train, BpeLearnsFrequentWordsAndSpecials) {
  std::vector<std::string> corpus(50, "the cat sat on the mat with the hat. ");
  for (const auto& t : test::sample_texts()) corpus.push_back(t);
  TrainOptions opt;
  opt.vocab_size = 300;
  opt.show_progress = false;
  Tokenizer tok = train_bpe_from_texts(corpus, opt);
  EXPECT_EQ(tok.vocab_size(), 300);
  EXPECT_GE(tok.token_id("Ġthe"), 256);
  EXPECT_EQ(tok.encode(" the").size(), 1u);
  SpecialIds sp = tok.special();
  EXPECT_EQ(sp.bos, 294);
  EXPECT_EQ(sp.eos, 295);
  EXPECT_EQ(sp.pad, 295);
  EXPECT_EQ(sp.mask, 296);
  EXPECT_EQ(sp.start_header, 297);
  EXPECT_EQ(sp.end_header, 298);
  EXPECT_EQ(sp.eot, 299);
  // Too small a vocabulary is an error that says why.
  opt.vocab_size = 100;
  EXPECT_THROW(train_bpe_from_texts(corpus, opt), Error);
  // A tiny corpus stops early (min frequency) instead of inventing merges.
  opt.vocab_size = 5000;
  Tokenizer t2 = train_bpe_from_texts({"ab ab"}, opt);
  EXPECT_LT(t2.vocab_size(), 300);
}

TEST(Chat, LladaFormat) {
  std::vector<ChatMessage> msgs = {{"user", "  What is 2+2?\n"}};
  EXPECT_EQ(apply_chat_template(msgs, true, true),
            "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  msgs.push_back({"assistant", "4"});
  msgs.push_back({"user", "And 3+3?"});
  EXPECT_EQ(apply_chat_template(msgs, false, false),
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nAnd 3+3?<|eot_id|>");
  const Tokenizer& tok = small_bpe();
  auto ids = encode_chat(tok, {{"user", "hi"}}, true);
  SpecialIds sp = tok.special();
  ASSERT_GE(ids.size(), 8u);
  EXPECT_EQ(ids[0], sp.bos);
  EXPECT_EQ(ids[1], sp.start_header);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), sp.bos), 1);
  EXPECT_EQ(ids[ids.size() - 1 - tok.encode("\n\n").size()], sp.end_header);
  EXPECT_NO_THROW(check_chat_template_supported(tok.chat_template()));
  EXPECT_THROW(check_chat_template_supported("{% for m in messages %}{{ m.content }}{% endfor %}"), Error);
}

TEST(SaveLoad, RoundTripsExactly) {
  const Tokenizer& tok = small_bpe();
  Tokenizer again = Tokenizer::from_json(tok.to_json(), tok.config_to_json(), "again.json");
  EXPECT_EQ(again.to_json(), tok.to_json());
  for (const auto& t : test::sample_texts()) EXPECT_EQ(again.encode(t), tok.encode(t));
  EXPECT_EQ(again.special().mask, tok.special().mask);
}

// Loads a mutated copy of the small tokenizer.json and expects an error mentioning `needle`.
void expect_load_error(const std::function<void(nlohmann::json&)>& mutate, const std::string& needle) {
  auto j = nlohmann::json::parse(small_bpe().to_json());
  mutate(j);
  try {
    Tokenizer::from_json(j.dump(), "", "dir/tokenizer.json");
    ADD_FAILURE() << "no error; expected one mentioning " << needle;
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    EXPECT_NE(msg.find("dir/tokenizer.json"), std::string::npos) << msg;
  }
}

TEST(Load, UnloadedTokenizerThrows) {
  Tokenizer empty;
  EXPECT_THROW(empty.encode("x"), Error);
  EXPECT_THROW(empty.decode({1}), Error);
}

TEST(Load, BadFilesGiveClearErrors) {
  EXPECT_THROW(Tokenizer::from_json("{not json", "", "x.json"), Error);
  EXPECT_THROW(Tokenizer::load("/nonexistent/tokenizer.json"), Error);
  expect_load_error([](auto& j) { j["normalizer"] = {{"type", "Lowercase"}}; }, "normalizer 'Lowercase'");
  expect_load_error([](auto& j) { j["model"]["type"] = "WordPiece"; }, "model.type");
  expect_load_error([](auto& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }, "Whitespace");
  expect_load_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "MergedWithNext"; },
                    "MergedWithNext");
  expect_load_error([](auto& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed"; },
                    "cannot compile regex");
  expect_load_error([](auto& j) { j["decoder"] = {{"type", "WordPiece"}}; }, "decoder");
  expect_load_error([](auto& j) { j["model"].erase("vocab"); }, "model.vocab");
  expect_load_error([](auto& j) { j["model"]["vocab"].erase("Ġ"); }, "byte 0x20");
  expect_load_error([](auto& j) { j["model"]["merges"].push_back(nlohmann::json::array({"Ġ", "zz"})); },
                    "model.merges[");
  expect_load_error([](auto& j) { j["model"]["merges"][0] = 7; }, "model.merges[0]");
  expect_load_error([](auto& j) { j["added_tokens"][0]["id"] = "x"; }, "added_tokens[0].id");
  expect_load_error([](auto& j) { j["added_tokens"][0]["single_word"] = true; }, "single_word");
  expect_load_error([](auto& j) { j["truncation"] = {{"max_length", 5}}; }, "truncation");
  expect_load_error([](auto& j) { j["post_processor"] = {{"type", "BertProcessing"}}; }, "BertProcessing");
  expect_load_error([](auto& j) { j["model"]["vocab"]["dup"] = 5; }, "used twice");
}

TEST(Load, TemplateProcessingAddsBos) {
  auto j = nlohmann::json::parse(small_bpe().to_json());
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", {{{"SpecialToken", {{"id", "<|startoftext|>"}, {"type_id", 0}}}},
                                     {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                         {"pair", nlohmann::json::array()},
                         {"special_tokens", nlohmann::json::object()}};
  Tokenizer tok = Tokenizer::from_json(j.dump(), small_bpe().config_to_json());
  auto with = tok.encode("hi", true), without = tok.encode("hi", false);
  ASSERT_EQ(with.size(), without.size() + 1);
  EXPECT_EQ(with[0], tok.special().bos);
}

}  // namespace
}  // namespace llada
