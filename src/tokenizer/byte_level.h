// GPT-2's byte-level alphabet: each of the 256 bytes is shown as one printable Unicode character
// (printable ASCII and Latin-1 map to themselves, the rest to U+0100..U+0143, e.g. space -> 'Ġ').
// Vocabularies in tokenizer.json are written in this alphabet; the engine works on raw bytes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace llada::byte_level {

// Code point that stands for byte b.
uint32_t byte_to_char(uint8_t b);
// Byte that code point cp stands for, or -1 if cp is not in the alphabet.
int char_to_byte(uint32_t cp);
// Raw bytes -> byte-level text (UTF-8).
std::string encode(std::string_view bytes);
// Byte-level text -> raw bytes; false (out untouched beyond what was appended) if a character is
// outside the alphabet or the text is not valid UTF-8.
bool decode(std::string_view text, std::string* out);

}  // namespace llada::byte_level
