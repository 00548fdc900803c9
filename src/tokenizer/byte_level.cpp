#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/utf8.h"

namespace llada::byte_level {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_char{};
  std::array<int16_t, 324> to_byte{};  // every code point in the alphabet is < 0x144
  Tables() {
    to_byte.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? uint32_t(b) : uint32_t(256 + n++);
      to_byte[to_char[b]] = int16_t(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t byte_to_char(uint8_t b) { return tables().to_char[b]; }

int char_to_byte(uint32_t cp) { return cp < tables().to_byte.size() ? tables().to_byte[cp] : -1; }

std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8::append(out, byte_to_char(b));
  return out;
}

bool decode(std::string_view text, std::string* out) {
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t n = utf8::decode(text, i, &cp);
    if (!n) return false;
    int b = char_to_byte(cp);
    if (b < 0) return false;
    out->push_back(char(b));
    i += n;
  }
  return true;
}

}  // namespace llada::byte_level
