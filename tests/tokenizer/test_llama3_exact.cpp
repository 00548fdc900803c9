// Exactness on the real LLaMA-3 tokenizer.json: every sample text must give the reference's ids.
#include <gtest/gtest.h>

#include "js_reference.h"
#include "sample_texts.h"
#include "tokenizer/tokenizer.h"

namespace llada {
namespace {

// Loaded once for the suite (the 9 MB file takes seconds to parse on a busy machine).
const Tokenizer& llama3() {
  static const Tokenizer tok = Tokenizer::load(test::llama3_tokenizer_path());
  return tok;
}

TEST(Llama3, IdsMatchReference) {
  std::string problem = test::js_reference_problem();
  ASSERT_TRUE(problem.empty()) << problem;
  const Tokenizer& tok = llama3();
  auto texts = test::sample_texts();
  auto ref = test::js_encode(test::llama3_tokenizer_path(), texts);
  ASSERT_EQ(ref.size(), texts.size());
  int bad = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    auto ids = tok.encode(texts[i]);
    EXPECT_EQ(ids, ref[i]) << "text " << i << ": \"" << texts[i] << "\"";
    bad += ids != ref[i];
    EXPECT_EQ(tok.decode(ids), texts[i]) << "round trip of text " << i;
  }
  EXPECT_EQ(bad, 0);
}

TEST(Llama3, SpecialIdsAndVocab) {
  std::string problem = test::js_reference_problem();
  ASSERT_TRUE(problem.empty()) << problem;
  const Tokenizer& tok = llama3();
  EXPECT_EQ(tok.vocab_size(), 128256);
  SpecialIds sp = tok.special();
  EXPECT_EQ(sp.bos, 128000);
  EXPECT_EQ(sp.eos, 128001);
  EXPECT_EQ(sp.eot, 128009);
  EXPECT_EQ(sp.start_header, 128006);
  EXPECT_EQ(sp.end_header, 128007);
  EXPECT_EQ(sp.mask, -1);
  EXPECT_EQ(tok.token_id("Hello"), 9906);
  EXPECT_EQ(tok.token_id("Ġworld"), 1917);
  EXPECT_EQ(tok.token_to_piece(1917), " world");
  EXPECT_EQ(tok.id_to_token(1917), "Ġworld");
  EXPECT_TRUE(tok.is_special(128009));
  EXPECT_FALSE(tok.is_special(1917));
  EXPECT_EQ(tok.decode({128000, 9906, 1917, 128009}, true), "Hello world");
  EXPECT_NO_THROW(check_chat_template_supported(tok.chat_template()));
}

}  // namespace
}  // namespace llada
