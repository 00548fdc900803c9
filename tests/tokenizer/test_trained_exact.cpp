// Tokenizers we train (byte-level BPE and char level) must load in the reference and encode the same.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "js_reference.h"
#include "sample_texts.h"
#include "tokenizer/tokenizer.h"

namespace llada {
namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> c;
  for (int rep = 0; rep < 3; ++rep)
    for (const auto& t : test::sample_texts()) c.push_back(t);
  c.push_back("The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs away quickly.\n");
  c.push_back("白日依山尽，黄河入海流。欲穷千里目，更上一层楼。\n");
  return c;
}

void expect_same_as_reference(const Tokenizer& tok, const std::string& name,
                              const std::vector<std::string>& extra = {}) {
  std::string problem = test::js_reference_problem();
  ASSERT_TRUE(problem.empty()) << problem;
  auto dir = std::filesystem::temp_directory_path() / ("llada_tok_" + name + std::to_string(::getpid()));
  tok.save(dir.string());
  Tokenizer reloaded = Tokenizer::load(dir.string());
  auto texts = test::sample_texts();
  texts.push_back("unseen characters: 龘 𠀀 ꙮ ☃ and ascii");
  texts.insert(texts.end(), extra.begin(), extra.end());
  auto ref = test::js_encode((dir / "tokenizer.json").string(), texts);
  ASSERT_EQ(ref.size(), texts.size());
  int bad = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ids = tok.encode(texts[i]);
    EXPECT_EQ(ids, ref[i]) << name << " text " << i << ": \"" << texts[i] << "\"";
    EXPECT_EQ(reloaded.encode(texts[i]), ids);
    if (extra.empty()) EXPECT_EQ(tok.decode(ids), texts[i]);  // NFC changes some texts
    bad += ids != ref[i];
  }
  EXPECT_EQ(bad, 0);
  std::filesystem::remove_all(dir);
}

TEST(Trained, BpeMatchesReference) {
  TrainOptions opt;
  opt.vocab_size = 600;
  opt.show_progress = false;
  Tokenizer tok = train_bpe_from_texts(corpus(), opt);
  EXPECT_EQ(tok.vocab_size(), 600);
  EXPECT_EQ(tok.special().mask, 596);
  expect_same_as_reference(tok, "bpe");
}

TEST(Trained, CharLevelMatchesReference) {
  TrainOptions opt;
  opt.vocab_size = 400;
  opt.min_frequency = 1;
  opt.show_progress = false;
  Tokenizer tok = train_char_level_from_texts(corpus(), opt);
  expect_same_as_reference(tok, "char");
  // One token per known character, bytes for unknown ones.
  EXPECT_EQ(tok.encode("床前明月光").size(), 5u);
  EXPECT_EQ(tok.encode("龘").size(), 3u);
}

TEST(Trained, NfcNormalizerMatchesReference) {
  TrainOptions opt;
  opt.vocab_size = 600;
  opt.show_progress = false;
  Tokenizer base = train_bpe_from_texts(corpus(), opt);
  auto j = nlohmann::json::parse(base.to_json());
  j["normalizer"] = {{"type", "NFC"}};
  Tokenizer tok = Tokenizer::from_json(j.dump(), base.config_to_json(), "nfc/tokenizer.json");
  EXPECT_EQ(tok.encode("e\u0301"), tok.encode("\u00e9"));
  EXPECT_NE(base.encode("e\u0301"), base.encode("\u00e9"));
  expect_same_as_reference(
      tok, "nfc",
      {"e\u0301 A\u030A \u212B \u2126 caf\u0065\u0301", "\u1100\u1161\u11A8 \uAC00\u11A8 \u1100\u1161",
       "a\u0323\u0307 a\u0307\u0323 \u1E0B\u0323 q\u0307\u0323", "\u0344 \u0958 \u2ADC \u0F73 \uFB1D",
       "\u00C5\u0301 \u00E0\u0328 o\u031B\u0301\u0323", "\u09C7\u09BE \u0B47\u0B3E \u0D46\u0D3E",
       "\uFB01 \u00BD \u2460 \u3300 (compatibility: unchanged)", "\u0301\u0301 leading marks"});
}

TEST(Trained, AddedTokenFlagsMatchReference) {
  TrainOptions opt;
  opt.vocab_size = 600;
  opt.show_progress = false;
  Tokenizer base = train_bpe_from_texts(corpus(), opt);
  auto j = nlohmann::json::parse(base.to_json());
  for (auto& a : j["added_tokens"]) {
    if (a["content"] == "<|mdm_mask|>") a["lstrip"] = true;
    if (a["content"] == "<|eot_id|>") a["rstrip"] = true;
    if (a["content"] == "<|startoftext|>") a["lstrip"] = a["rstrip"] = true;
  }
  // A non-special added token that is not in the vocabulary.
  j["added_tokens"].push_back({{"id", 600}, {"content", "hello world"}, {"single_word", false},
                               {"lstrip", false}, {"rstrip", false}, {"normalized", true}, {"special", false}});
  Tokenizer tok = Tokenizer::from_json(j.dump(), base.config_to_json(), "flags/tokenizer.json");
  EXPECT_EQ(tok.vocab_size(), 601);
  EXPECT_FALSE(tok.is_special(600));
  expect_same_as_reference(tok, "flags",
                           {"a  <|mdm_mask|>  b", "x\n\t<|eot_id|> \n y", "  <|startoftext|>  z  ",
                            "say hello world twice: hello worldhello world", "<|mdm_mask|><|mdm_mask|>  <|eot_id|>"});
}

}  // namespace
}  // namespace llada
