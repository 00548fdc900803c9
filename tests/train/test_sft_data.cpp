// SFT data: JSONL parsing (both forms, multi-turn split, errors naming file and line), chat-format
// tokenization and prompt lengths, the binary sample file (round trip, damage) and the loader.
#include <gtest/gtest.h>

#include "common/error_of.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <unistd.h>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "train/sft_data.h"

namespace fs = std::filesystem;
using namespace llada;
using namespace llada::train;

namespace {

fs::path temp_dir() { return fs::temp_directory_path() / ("llada_test_sft_" + std::to_string(::getpid())); }

// Removes this process's temporary files when the test program exits.
struct TempDirCleanup {
  ~TempDirCleanup() {
    std::error_code ec;
    fs::remove_all(temp_dir(), ec);
  }
} temp_dir_cleanup;

std::string temp_path(const std::string& name) {
  fs::create_directories(temp_dir());
  return (temp_dir() / name).string();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

const Tokenizer& char_tokenizer() {
  static Tokenizer tok = [] {
    TrainOptions o;
    o.vocab_size = 400;
    o.min_frequency = 1;
    o.show_progress = false;
    return train_char_level_from_texts(
        {"床前明月光，疑是地上霜。举头望明月，低头思故乡。", "user assistant system hello world 1234567890"}, o);
  }();
  return tok;
}

using llada::test_util::error_of;

}  // namespace

TEST(SftParse, PromptResponseAndSystem) {
  auto ex = parse_sft_line(R"({"prompt": "q?", "response": "a.", "kind": "next"})", "x:1");
  ASSERT_EQ(ex.size(), 1u);
  ASSERT_EQ(ex[0].prompt.size(), 1u);
  EXPECT_EQ(ex[0].prompt[0].role, "user");
  EXPECT_EQ(ex[0].prompt[0].content, "q?");
  EXPECT_EQ(ex[0].response, "a.");
  ex = parse_sft_line(R"({"system": "be brief", "prompt": "q", "response": "a"})", "x:1");
  ASSERT_EQ(ex[0].prompt.size(), 2u);
  EXPECT_EQ(ex[0].prompt[0].role, "system");
}

TEST(SftParse, MultiTurnGivesOneSamplePerAssistantTurn) {
  auto ex = parse_sft_line(R"({"messages": [
      {"role": "system", "content": "S"},
      {"role": "user", "content": "U1"}, {"role": "assistant", "content": "A1"},
      {"role": "user", "content": "U2"}, {"role": "assistant", "content": "A2"},
      {"role": "user", "content": "U3"}, {"role": "assistant", "content": "A3"}]})",
                           "x:1");
  ASSERT_EQ(ex.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(ex[k].response, "A" + std::to_string(k + 1));
    // Earlier turns, answers included, are the prompt.
    ASSERT_EQ(ex[k].prompt.size(), 2 + 2 * k);
    EXPECT_EQ(ex[k].prompt.back().content, "U" + std::to_string(k + 1));
    if (k > 0) {
      EXPECT_EQ(ex[k].prompt[2 * k].content, "A" + std::to_string(k));
    }
  }
}

TEST(SftParse, ErrorsNameTheFileAndLine) {
  std::string path = temp_path("bad.jsonl");
  write_text(path, "{\"prompt\": \"a\", \"response\": \"b\"}\n\n{\"prompt\": \"a\", \"response\": 3}\n");
  std::string msg = error_of([&] { read_sft_jsonl(path); });
  EXPECT_NE(msg.find(path + ":3"), std::string::npos) << msg;
  EXPECT_NE(msg.find("response"), std::string::npos) << msg;

  write_text(path, "{\"prompt\": \"a\", \"response\": \"b\"}\n{not json\n");
  msg = error_of([&] { read_sft_jsonl(path); });
  EXPECT_NE(msg.find(path + ":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not valid JSON"), std::string::npos) << msg;

  EXPECT_NE(error_of([] { parse_sft_line(R"({"messages": [{"role": "user", "content": "hi"}]})", "f:7"); })
                .find("f:7: \"messages\" has no assistant turn"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_sft_line(R"({"messages": [{"role": "assistant", "content": "x"}]})", "f:8"); })
                .find("f:8: messages[0]"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_sft_line(R"({"messages": [{"role": "bot", "content": "x"}]})", "f:9"); })
                .find("role \"bot\""),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_sft_line(R"({"text": "x"})", "f:10"); }).find("f:10"), std::string::npos);
  EXPECT_NE(error_of([] { parse_sft_line(R"([1, 2])", "f:11"); }).find("f:11"), std::string::npos);
  EXPECT_NE(error_of([] { read_sft_jsonl(temp_path("missing.jsonl")); }).find("missing.jsonl"),
            std::string::npos);
}

TEST(SftTokenize, PromptIsTheChatTemplateAndResponseEndsWithEotEos) {
  const Tokenizer& tok = char_tokenizer();
  SpecialIds sp = tok.special();
  ASSERT_GE(sp.eos, 0);
  ASSERT_GE(sp.eot, 0);
  auto ex = parse_sft_line(R"({"prompt": "床前明月光", "response": " 疑是地上霜\n"})", "x:1")[0];
  TokenizedSample s = tokenize_sft(tok, ex);
  std::vector<int32_t> prompt = encode_chat(tok, ex.prompt, true, true);
  ASSERT_EQ(s.prompt_len, int64_t(prompt.size()));
  EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), s.ids.begin()));
  std::vector<int32_t> resp = tok.encode("疑是地上霜");  // trimmed, like the template trims content
  ASSERT_EQ(s.ids.size(), prompt.size() + resp.size() + 2);
  EXPECT_TRUE(std::equal(resp.begin(), resp.end(), s.ids.begin() + s.prompt_len));
  EXPECT_EQ(s.ids[s.ids.size() - 2], sp.eot);
  EXPECT_EQ(s.ids.back(), sp.eos);
  // The whole sample is exactly the rendered conversation plus EOS.
  std::vector<ChatMessage> conv = ex.prompt;
  conv.push_back({"assistant", "疑是地上霜"});
  std::vector<int32_t> full = encode_chat(tok, conv, false, true);
  full.push_back(sp.eos);
  EXPECT_EQ(s.ids, full);
}

TEST(SftTokenize, MultiTurnPromptLengthsGrow) {
  const Tokenizer& tok = char_tokenizer();
  auto ex = parse_sft_line(R"({"messages": [{"role": "user", "content": "举头"},
      {"role": "assistant", "content": "望明月"}, {"role": "user", "content": "低头"},
      {"role": "assistant", "content": "思故乡"}]})",
                           "x:1");
  ASSERT_EQ(ex.size(), 2u);
  TokenizedSample a = tokenize_sft(tok, ex[0]), b = tokenize_sft(tok, ex[1]);
  // The second prompt starts with the whole first sample minus its EOS (the EoT is kept).
  ASSERT_GT(b.prompt_len, int64_t(a.ids.size()) - 1);
  EXPECT_TRUE(std::equal(a.ids.begin(), a.ids.end() - 1, b.ids.begin()));
  EXPECT_EQ(tok.decode(std::vector<int32_t>(b.ids.begin() + b.prompt_len, b.ids.end() - 2)), "思故乡");
}

namespace {

std::string write_samples(const std::string& name, int n, std::vector<TokenizedSample>* kept) {
  std::string path = temp_path(name);
  SftWriter w(path, 1000, 999);
  Rng rng(3);
  for (int i = 0; i < n; ++i) {
    TokenizedSample s;
    s.ids.resize(2 + rng.below(30));
    for (auto& t : s.ids) t = int32_t(rng.below(999));
    s.ids.back() = 999;
    s.prompt_len = int64_t(rng.below(s.ids.size() - 1));
    w.add(s.ids, s.prompt_len);
    if (kept) kept->push_back(s);
  }
  w.finish();
  return path;
}

}  // namespace

TEST(SftFile, RoundTrip) {
  std::vector<TokenizedSample> kept;
  std::string path = write_samples("rt.sft", 200, &kept);
  auto d = SftDataset::open(path);
  ASSERT_EQ(d->size(), 200);
  EXPECT_EQ(d->eos_id(), 999);
  int64_t maxlen = 0;
  for (int i = 0; i < 200; ++i) {
    TokenizedSample s = d->sample(i);
    EXPECT_EQ(s.ids, kept[size_t(i)].ids) << i;
    EXPECT_EQ(s.prompt_len, kept[size_t(i)].prompt_len) << i;
    maxlen = std::max<int64_t>(maxlen, int64_t(s.ids.size()));
  }
  EXPECT_EQ(d->max_length(), maxlen);
  SftWriter w(temp_path("bad.sft"), 1000, 999);
  std::vector<int32_t> only_prompt = {1, 2};
  EXPECT_THROW(w.add(only_prompt, 2), Error);  // no answer token
  std::vector<int32_t> bad_id = {1, 1000};
  EXPECT_THROW(w.add(bad_id, 0), Error);
}

TEST(SftFile, TruncatedOrCorruptedIsAnErrorNamingTheFile) {
  std::string path = write_samples("dmg.sft", 50, nullptr);
  std::ifstream f(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string cut = temp_path("dmg_cut.sft"), flip = temp_path("dmg_flip.sft");
  write_text(cut, bytes.substr(0, bytes.size() - 5));
  std::string msg = error_of([&] { SftDataset::open(cut); });
  EXPECT_NE(msg.find(cut), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  std::string b = bytes;
  b[100] ^= 0x40;
  write_text(flip, b);
  msg = error_of([&] { SftDataset::open(flip); });
  EXPECT_NE(msg.find(flip), std::string::npos) << msg;
  EXPECT_NE(msg.find("corrupted"), std::string::npos) << msg;
}

TEST(SftLoader, EpochIsAPermutationAndStateResumes) {
  std::string path = write_samples("ld.sft", 37, nullptr);
  auto d = SftDataset::open(path);
  SftLoader a(d, 7);
  std::multiset<int64_t> seen_len;
  std::vector<int64_t> order;
  for (int i = 0; i < 37; ++i) {
    const auto& batch = a.next_batch(1);
    ASSERT_EQ(batch.size(), 1u);
    order.push_back(batch[0].len * 1000 + batch[0].prompt_len);
  }
  EXPECT_EQ(a.epoch(), 1u);
  std::vector<int64_t> file_order;
  for (int i = 0; i < 37; ++i) file_order.push_back(d->length(i) * 1000 + d->prompt_length(i));
  std::vector<int64_t> s1 = order, s2 = file_order;
  std::sort(s1.begin(), s1.end());
  std::sort(s2.begin(), s2.end());
  EXPECT_EQ(s1, s2);            // every sample exactly once
  EXPECT_NE(order, file_order);  // but shuffled

  auto flatten = [](const std::vector<SftSample>& batch) {
    std::vector<int32_t> out;
    for (auto& s : batch) {
      out.push_back(int32_t(s.prompt_len));
      out.insert(out.end(), s.ids, s.ids + s.len);
    }
    return out;
  };
  SftLoader full(d, 11);
  for (int i = 0; i < 9; ++i) full.next_batch(5);  // 45 samples: past the first epoch
  std::string saved = full.state().to_json();
  std::vector<std::vector<int32_t>> tail;
  int64_t max_seen = 0;
  for (int i = 0; i < 12; ++i) {
    tail.push_back(flatten(full.next_batch(5)));
    for (auto& s : full.next_batch(0 + 1)) max_seen = std::max(max_seen, s.len);
    EXPECT_EQ(full.batch_max_length(), max_seen);
    max_seen = 0;
  }
  SftLoader resumed(d, 11);
  resumed.set_state(SftLoaderState::from_json(saved));
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(flatten(resumed.next_batch(5)), tail[size_t(i)]) << "batch " << i;
    resumed.next_batch(1);
  }
  SftLoader other(d, 12);
  EXPECT_THROW(other.set_state(SftLoaderState::from_json(saved)), Error);
}

// End to end through the CLI: a multi-turn JSONL gives one sample per assistant turn, identical to
// tokenize_sft; a malformed line is an error naming the file and line. Skipped without the CLI.
TEST(PrepareCli, SftJsonlToSamples) {
  if (!fs::exists(LLADA_CLI)) GTEST_SKIP() << "llada CLI not built at " << LLADA_CLI;
  const Tokenizer& tok = char_tokenizer();
  std::string dir = temp_path("prep_sft");
  tok.save(dir + "/tok");
  std::string lines =
      R"({"prompt": "床前", "response": "明月光"})" "\n"
      R"({"messages": [{"role": "user", "content": "举头"}, {"role": "assistant", "content": "望明月"},)"
      R"( {"role": "user", "content": "低头"}, {"role": "assistant", "content": "思故乡"}]})" "\n";
  write_text(dir + "/in.jsonl", lines);
  std::string cmd = std::string(LLADA_CLI) + " prepare --sft --tokenizer " + dir + "/tok --out " + dir +
                    "/out " + dir + "/in.jsonl > " + dir + "/log.txt 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto d = SftDataset::open(dir + "/out/train.sft");
  auto want = read_sft_jsonl(dir + "/in.jsonl");
  ASSERT_EQ(d->size(), 3);
  ASSERT_EQ(want.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    TokenizedSample w = tokenize_sft(tok, want[size_t(i)]);
    TokenizedSample got = d->sample(i);
    EXPECT_EQ(got.ids, w.ids) << i;
    EXPECT_EQ(got.prompt_len, w.prompt_len) << i;
  }
  write_text(dir + "/bad.jsonl", lines + "{\"prompt\": \"x\"}\n");
  std::string bad = std::string(LLADA_CLI) + " prepare --sft --tokenizer " + dir + "/tok --out " + dir +
                    "/out2 " + dir + "/bad.jsonl > " + dir + "/log2.txt 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  std::ifstream log(dir + "/log2.txt");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(dir + "/bad.jsonl:3"), std::string::npos) << text;
}
