// Token shards: write/read round trip, every kind of damage is an error naming the file, window
// sampling is deterministic and resumes bit-identically from a saved state.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "tokenizer/tokenizer.h"
#include "train/shards.h"

namespace fs = std::filesystem;
using namespace llada;
using namespace llada::train;

namespace {

fs::path temp_dir() { return fs::temp_directory_path() / ("llada_test_shards_" + std::to_string(::getpid())); }

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

// Random documents of lengths 1..max_len with ids in [0, vocab) except eos.
std::vector<std::vector<int32_t>> random_docs(int n, int max_len, int64_t vocab, int32_t eos, uint64_t seed) {
  Rng rng(seed);
  std::vector<std::vector<int32_t>> docs(n);
  for (auto& d : docs) {
    d.resize(1 + rng.below(max_len));
    for (auto& t : d) {
      do t = int32_t(rng.below(uint64_t(vocab))); while (t == eos);
    }
  }
  return docs;
}

std::string write_shard(const std::string& name, const std::vector<std::vector<int32_t>>& docs, int64_t vocab,
                        int32_t eos) {
  std::string path = temp_path(name);
  ShardWriter w(path, vocab, eos);
  for (auto& d : docs) w.add_document(d);
  w.finish();
  return path;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// Expects open() to throw an llada::Error whose message names the file and contains `what`.
void expect_open_error(const std::string& path, const std::string& what) {
  try {
    TokenShard::open(path);
    FAIL() << "opening " << path << " should have failed (" << what << ")";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
  }
}

}  // namespace

TEST(Shards, RoundTripUint16AndUint32) {
  for (int64_t vocab : {int64_t(300), int64_t(65536), int64_t(126464)}) {
    int32_t eos = int32_t(vocab - 1);
    auto docs = random_docs(57, 40, vocab, eos, uint64_t(vocab));
    std::string path = write_shard("rt_" + std::to_string(vocab) + ".tok", docs, vocab, eos);
    auto s = TokenShard::open(path);
    EXPECT_EQ(s->dtype_bytes(), vocab <= 65536 ? 2u : 4u);
    EXPECT_EQ(s->n_docs(), 57);
    EXPECT_EQ(s->vocab_size(), vocab);
    EXPECT_EQ(s->eos_id(), eos);
    int64_t total = 0;
    for (size_t d = 0; d < docs.size(); ++d) {
      std::vector<int32_t> want = docs[d];
      want.push_back(eos);  // documents are separated by EOS
      EXPECT_EQ(s->document(int64_t(d)), want) << "document " << d;
      EXPECT_EQ(s->doc_begin(int64_t(d)), total);
      total += int64_t(want.size());
    }
    EXPECT_EQ(s->n_tokens(), total);
    // File size is exactly header + padded tokens + index.
    size_t tok_bytes = (size_t(total) * s->dtype_bytes() + 7) / 8 * 8;
    EXPECT_EQ(fs::file_size(path), 64 + tok_bytes + (docs.size() + 1) * 8);
  }
}

TEST(Shards, WriterRejectsOutOfRangeIds) {
  ShardWriter w(temp_path("bad_ids.tok"), 100, 99);
  std::vector<int32_t> bad = {1, 2, 100};
  EXPECT_THROW(w.add_document(bad), Error);
  std::vector<int32_t> neg = {-1};
  EXPECT_THROW(w.add_document(neg), Error);
  EXPECT_THROW(ShardWriter(temp_path("bad_eos.tok"), 100, 100), Error);
}

TEST(Shards, TruncatedShardIsAnErrorNamingTheFile) {
  auto docs = random_docs(20, 30, 500, 1, 7);
  std::string good = write_shard("trunc_src.tok", docs, 500, 1);
  auto bytes = read_bytes(good);
  for (size_t cut : {size_t(0), size_t(10), size_t(63), size_t(64), bytes.size() / 2, bytes.size() - 1}) {
    std::string path = temp_path("trunc_" + std::to_string(cut) + ".tok");
    write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(cut)));
    expect_open_error(path, cut < 64 ? "truncated" : "truncated or corrupted");
  }
  // An extra byte at the end is just as wrong as a missing one.
  std::string longer = temp_path("trunc_long.tok");
  auto more = bytes;
  more.push_back(0);
  write_bytes(longer, more);
  expect_open_error(longer, "needs");
  EXPECT_THROW(TokenShard::open(temp_path("does_not_exist.tok")), Error);
}

TEST(Shards, CorruptedShardIsAnErrorNamingTheFile) {
  auto docs = random_docs(20, 30, 500, 1, 8);
  std::string good = write_shard("corrupt_src.tok", docs, 500, 1);
  auto bytes = read_bytes(good);
  ASSERT_NO_THROW(TokenShard::open(good));

  auto flip = [&](size_t at, const std::string& name, const std::string& what) {
    auto b = bytes;
    b[at] ^= 0x10;
    std::string path = temp_path(name);
    write_bytes(path, b);
    expect_open_error(path, what);
  };
  flip(0, "c_magic.tok", "bad magic");
  flip(8, "c_version.tok", "version");
  flip(17, "c_count.tok", "header");           // token count: caught by the header checksum
  flip(64 + 5, "c_token.tok", "checksum");     // a token in the body
  flip(bytes.size() - 3, "c_index.tok", "checksum");  // the document index
  // Without verification a flipped token is served as is, but the index is still checked: here its
  // last entry no longer equals the token count.
  auto b = bytes;
  b[bytes.size() - 8] ^= 0x01;
  std::string path = temp_path("c_index_noverify.tok");
  write_bytes(path, b);
  EXPECT_THROW(TokenShard::open(path, /*verify=*/false), Error);
}

TEST(Shards, HeldoutSplitIsStableAndNearTheFraction) {
  int held = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string doc = "document number " + std::to_string(i);
    bool h = is_heldout_document(doc, 0.1);
    EXPECT_EQ(h, is_heldout_document(doc, 0.1));
    held += h;
  }
  EXPECT_NEAR(held / 20000.0, 0.1, 0.01);
  EXPECT_FALSE(is_heldout_document("x", 0.0));
  EXPECT_TRUE(is_heldout_document("x", 1.0));
}

namespace {

std::vector<std::shared_ptr<TokenShard>> two_shards() {
  // Token value = position in the stream (mod vocab), so windows can be located exactly.
  std::vector<std::shared_ptr<TokenShard>> out;
  int32_t next = 0;
  for (int s = 0; s < 2; ++s) {
    std::vector<std::vector<int32_t>> docs;
    for (int d = 0; d < 9; ++d) {
      std::vector<int32_t> doc(size_t(10 + 3 * d + s));
      for (auto& t : doc) t = 1 + (next++ % 60000);
      docs.push_back(doc);
    }
    out.push_back(TokenShard::open(write_shard("win" + std::to_string(s) + ".tok", docs, 60001, 0)));
  }
  return out;
}

std::vector<int32_t> draw(WindowReader& r, int batches, int64_t B) {
  std::vector<int32_t> out(size_t(batches * B * r.seq_len()));
  for (int i = 0; i < batches; ++i) r.next_batch(B, out.data() + i * B * r.seq_len());
  return out;
}

}  // namespace

TEST(Windows, SequentialCoversEveryWindowInOrderAndWraps) {
  auto shards = two_shards();
  const int64_t L = 16;
  WindowReader r(shards, L, WindowMode::Sequential, 1);
  int64_t expected = shards[0]->n_tokens() / L + shards[1]->n_tokens() / L;
  ASSERT_EQ(r.windows_per_epoch(), expected);
  std::vector<int32_t> w(L), want(L);
  for (int64_t i = 0; i < expected; ++i) {
    r.next_window(w.data());
    int64_t n0 = shards[0]->n_tokens() / L;
    if (i < n0) shards[0]->copy(i * L, L, want.data());
    else shards[1]->copy((i - n0) * L, L, want.data());
    ASSERT_EQ(w, want) << "window " << i;
  }
  EXPECT_EQ(r.epoch(), 1u);
  r.next_window(w.data());
  shards[0]->copy(0, L, want.data());
  EXPECT_EQ(w, want);
}

TEST(Windows, ShuffledVisitsEachWindowOncePerEpoch) {
  auto shards = two_shards();
  const int64_t L = 8;
  WindowReader r(shards, L, WindowMode::Shuffled, 42);
  int64_t n = r.windows_per_epoch();
  std::set<int32_t> firsts;
  std::vector<int32_t> w(L), order1, order2;
  for (int64_t i = 0; i < n; ++i) {
    r.next_window(w.data());
    firsts.insert(w[0]);
    order1.push_back(w[0]);
  }
  EXPECT_EQ(int64_t(firsts.size()), n);  // a permutation: no window twice
  for (int64_t i = 0; i < n; ++i) {
    r.next_window(w.data());
    order2.push_back(w[0]);
  }
  EXPECT_NE(order1, order2);  // each epoch has its own order
  std::vector<int32_t> sorted1 = order1, sorted2 = order2;
  std::sort(sorted1.begin(), sorted1.end());
  std::sort(sorted2.begin(), sorted2.end());
  EXPECT_EQ(sorted1, sorted2);
}

TEST(Windows, RandomWindowsAreContiguousAndDeterministic) {
  auto shards = two_shards();
  const int64_t L = 12, B = 4;
  WindowReader a(shards, L, WindowMode::Random, 5), b(shards, L, WindowMode::Random, 5),
      c(shards, L, WindowMode::Random, 6);
  auto xa = draw(a, 50, B), xb = draw(b, 50, B), xc = draw(c, 50, B);
  EXPECT_EQ(xa, xb);
  EXPECT_NE(xa, xc);
  // Every window is a contiguous run of the stream (ids increase by one, EOS = 0 excepted) and lies
  // inside one shard.
  for (size_t w = 0; w < xa.size() / L; ++w) {
    const int32_t* p = xa.data() + w * L;
    int32_t prev = -1;
    for (int64_t i = 0; i < L; ++i) {
      if (p[i] == 0) continue;
      if (prev >= 0) ASSERT_EQ(p[i], prev + 1) << "window " << w;
      prev = p[i];
    }
  }
}

TEST(Windows, SavedStateResumesBitIdentically) {
  auto shards = two_shards();
  for (WindowMode mode : {WindowMode::Random, WindowMode::Sequential, WindowMode::Shuffled}) {
    const int64_t L = 10, B = 3;
    WindowReader full(shards, L, mode, 99);
    auto head = draw(full, 17, B);  // crosses an epoch boundary in the non-random modes
    std::string saved = full.state().to_json();
    auto tail = draw(full, 25, B);

    WindowReader resumed(shards, L, mode, 99);
    resumed.set_state(WindowState::from_json(saved));
    EXPECT_EQ(draw(resumed, 25, B), tail) << window_mode_name(mode);
    EXPECT_EQ(resumed.state().served, full.state().served);

    // A state from other data or settings is refused.
    WindowReader other(shards, L + 1, mode, 99);
    EXPECT_THROW(other.set_state(WindowState::from_json(saved)), Error);
  }
  EXPECT_THROW(WindowState::from_json("{\"epoch\": 1}"), Error);
  EXPECT_THROW(WindowState::from_json("not json"), Error);
}

TEST(Windows, ShardsShorterThanAWindowAreAnError) {
  std::vector<std::vector<int32_t>> docs = {{1, 2, 3}};
  auto s = TokenShard::open(write_shard("tiny.tok", docs, 10, 0));
  EXPECT_THROW(WindowReader({s}, 64, WindowMode::Random, 0), Error);
}

// End to end through the CLI: `llada prepare` splits a text file into documents, tokenizes them and
// writes shards whose documents are exactly encode(doc) + EOS. Skipped when the CLI is not built.
TEST(PrepareCli, TextFileToShards) {
  if (!fs::exists(LLADA_CLI)) GTEST_SKIP() << "llada CLI not built at " << LLADA_CLI;
  std::vector<std::string> docs = {"床前明月光\n疑是地上霜", "举头望明月", "低头思故乡\n月光"};
  TrainOptions o;
  o.vocab_size = 300;
  o.min_frequency = 1;
  o.show_progress = false;
  Tokenizer tok = train_char_level_from_texts(docs, o);
  std::string dir = temp_path("prep");
  tok.save(dir + "/tok");
  {
    std::ofstream f(dir + "/in.txt");
    f << docs[0] << "\n\n" << docs[1] << "\r\n\n\n" << docs[2] << "\n";
  }
  std::string cmd = std::string(LLADA_CLI) + " prepare --tokenizer " + dir + "/tok --out " + dir +
                    "/out " + dir + "/in.txt > " + dir + "/log.txt 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto s = TokenShard::open(dir + "/out/train.tok");
  ASSERT_EQ(s->n_docs(), 3);
  for (int d = 0; d < 3; ++d) {
    std::vector<int32_t> want = tok.encode(docs[size_t(d)]);
    want.push_back(tok.special().eos);
    EXPECT_EQ(s->document(d), want) << "document " << d;
  }
  EXPECT_FALSE(fs::exists(dir + "/out/heldout.tok"));
  // A missing input file is an error naming it.
  std::string bad = std::string(LLADA_CLI) + " prepare --tokenizer " + dir + "/tok --out " + dir +
                    "/out2 " + dir + "/missing.txt > " + dir + "/log2.txt 2>&1";
  EXPECT_NE(std::system(bad.c_str()), 0);
  std::ifstream log(dir + "/log2.txt");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("missing.txt"), std::string::npos) << text;
}
