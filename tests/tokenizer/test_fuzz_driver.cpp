// Deterministic fuzzing in ctest: mutations (byte flips, inserts, splices of tricky fragments) of the
// sample texts and of a valid tokenizer.json go through the same checks as the libFuzzer target.
#include <gtest/gtest.h>

#include "fuzz_tokenizer_body.h"
#include "sample_texts.h"

namespace llada {
namespace {

struct Rng {
  uint64_t s;
  uint64_t next() {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return s >> 17;
  }
};

std::string mutate(std::string x, Rng& r) {
  int n = 1 + int(r.next() % 6);
  for (int k = 0; k < n; ++k) {
    size_t pos = x.empty() ? 0 : size_t(r.next() % (x.size() + 1));
    switch (r.next() % 4) {
      case 0:
        if (!x.empty()) x[std::min(pos, x.size() - 1)] = char(r.next());
        break;
      case 1:
        x.insert(pos, 1, char(r.next()));
        break;
      case 2:
        if (pos < x.size()) x.erase(pos, size_t(r.next() % 8));
        break;
      default: {
        static const char* frags[] = {"<|eot_id|>", "<|mdm_mask", "\xf0\x9f", "\xe4\xb8\xad", "  \n\n", "'s",
                                      "\xc0", "123456", "\"", "{", "]", "\\u0000"};
        x.insert(pos, frags[r.next() % 12]);
      }
    }
  }
  return x;
}

TEST(Fuzz, EncoderNeverCrashesAndRoundTrips) {
  Rng r{12345};
  auto texts = test::sample_texts();
  for (int it = 0; it < 3000; ++it) {
    std::string x = mutate(texts[r.next() % texts.size()], r);
    x.insert(x.begin(), char(r.next() % 2));  // mode: BPE or char level
    fuzz::fuzz_one(reinterpret_cast<const uint8_t*>(x.data()), x.size());
  }
}

TEST(Fuzz, LoaderNeverCrashes) {
  Rng r{777};
  std::string valid = fuzz::fuzz_tokenizer(false).to_json();
  for (int it = 0; it < 60; ++it) {
    std::string x = "\x02" + mutate(valid, r);
    fuzz::fuzz_one(reinterpret_cast<const uint8_t*>(x.data()), x.size());
  }
}

}  // namespace
}  // namespace llada
