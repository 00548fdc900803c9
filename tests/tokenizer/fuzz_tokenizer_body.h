// One fuzz input for the tokenizer: any bytes must encode without crashing, to valid ids, and decode
// back to the same bytes (byte-level BPE and char level); bytes given as a tokenizer.json must load or
// throw llada::Error, never crash. Shared by the libFuzzer target (tests/fuzz/fuzz_tokenizer.cpp) and
// the deterministic driver that runs in ctest (test_fuzz_driver.cpp).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "tokenizer/tokenizer.h"

namespace llada::fuzz {

inline const Tokenizer& fuzz_tokenizer(bool char_level) {
  static const Tokenizer bpe = [] {
    TrainOptions o;
    o.vocab_size = 400;
    o.show_progress = false;
    return train_bpe_from_texts({"the quick brown fox 'll jump over 12345 lazy dogs  \n\n 床前明月光 😀 <|eot_id|> "
                                 "the the the fox fox dogs dogs"},
                                o);
  }();
  static const Tokenizer chars = [] {
    TrainOptions o;
    o.vocab_size = 300;
    o.min_frequency = 1;
    o.show_progress = false;
    return train_char_level_from_texts({"床前明月光，疑是地上霜。😀é"}, o);
  }();
  return char_level ? chars : bpe;
}

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz_tokenizer: %s\n", what);
    std::abort();
  }
}

inline void fuzz_one(const uint8_t* data, size_t size) {
  if (size == 0) return;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
    case 1: {
      const Tokenizer& tok = fuzz_tokenizer(data[0] % 3 == 1);
      auto ids = tok.encode(text);
      for (int32_t id : ids) check(id >= 0 && id < tok.vocab_size(), "id out of range");
      check(tok.decode(ids) == text, "decode(encode(x)) != x");
      break;
    }
    default:
      try {
        Tokenizer t = Tokenizer::from_json(text, "", "fuzz.json");
        t.decode(t.encode("fuzz text"));
      } catch (const Error&) {
      }
  }
}

}  // namespace llada::fuzz
