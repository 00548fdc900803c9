// The front-end helpers: the answer cut, and the multi-turn history rule of spec section 1
// (previous prompt + answer with every EOS removed, EoT kept + new user turn without BOS).
#include <gtest/gtest.h>

#include "sample/session.h"

namespace llada::sample {
namespace {

TEST(SampleSession, AnswerStopsAtEosOrEot) {
  SpecialIds sp;
  sp.eos = 1;
  sp.eot = 2;
  EXPECT_EQ(answer_ids({5, 6, 2, 7, 1}, sp), (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(answer_ids({5, 1, 1}, sp), (std::vector<int32_t>{5}));
  EXPECT_EQ(answer_ids({5, 6}, sp), (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(join_ids({3, 40, 5}), "3,40,5");
}

TEST(SampleSession, ChatHistoryFollowsTheSpec) {
  TrainOptions to;
  to.vocab_size = 300;
  to.min_frequency = 1;
  to.show_progress = false;
  Session s;
  s.tok = train_char_level_from_texts({"hello there, how are you? fine thanks"}, to);
  const auto ts = s.tok->special();
  ASSERT_GE(ts.bos, 0);
  ASSERT_GE(ts.eot, 0);
  s.sp.eos = ts.eos;
  s.sp.eot = ts.eot;
  s.sp.mask = ts.mask;
  const auto first = first_chat_prompt(s, "hello");
  EXPECT_EQ(first.front(), ts.bos);
  const std::vector<int32_t> answer = {s.tok->encode("fine")[0], ts.eot, ts.eos, ts.eos};
  const auto next = next_chat_prompt(s, first, answer, "how are you");
  std::vector<int32_t> want = first;
  want.push_back(answer[0]);
  want.push_back(ts.eot);  // EoT kept, every EOS removed
  const auto turn = encode_chat(*s.tok, {{"user", "how are you"}}, true, false);
  EXPECT_NE(turn.front(), ts.bos);  // no BOS after the first message
  want.insert(want.end(), turn.begin(), turn.end());
  EXPECT_EQ(next, want);
}

}  // namespace
}  // namespace llada::sample
