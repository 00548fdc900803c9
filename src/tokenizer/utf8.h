// UTF-8 helpers shared by the tokenizer: code point decoding that never reads past the end and reports
// invalid sequences (the encoder must accept any bytes), and the whitespace sets the reference uses.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace llada::utf8 {

// Length of the valid UTF-8 sequence starting at s[i] (1..4) and its code point in *cp; 0 if the bytes
// at i do not start a valid sequence (overlong, surrogate, out of range or truncated).
inline size_t decode(std::string_view s, size_t i, uint32_t* cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + i;
  size_t n = s.size() - i;
  if (n == 0) return 0;
  unsigned c = p[0];
  if (c < 0x80) { *cp = c; return 1; }
  auto cont = [&](size_t k) { return k < n && (p[k] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) {
    if (!cont(1)) return 0;
    *cp = ((c & 0x1F) << 6) | (p[1] & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    uint32_t v = ((c & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    uint32_t v = ((c & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    if (v < 0x10000 || v > 0x10FFFF) return 0;
    *cp = v;
    return 4;
  }
  return 0;
}

// Length to skip at i: the valid sequence, or one byte of an invalid one.
inline size_t char_len(std::string_view s, size_t i) {
  uint32_t cp;
  size_t n = decode(s, i, &cp);
  return n ? n : 1;
}

inline bool valid(std::string_view s) {
  uint32_t cp;
  for (size_t i = 0; i < s.size();) {
    size_t n = decode(s, i, &cp);
    if (!n) return false;
    i += n;
  }
  return true;
}

inline void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

// JavaScript's String.prototype.trim set (WhiteSpace + LineTerminator): the reference strips added
// tokens' lstrip/rstrip neighbours with it.
inline bool is_js_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000 || c == 0xFEFF;
}

// Python str.strip()'s set (Jinja's |trim): Unicode White_Space plus the ASCII separators 0x1C-0x1F.
inline bool is_py_space(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Trims characters for which pred(cp) holds; invalid bytes are never trimmed.
template <typename Pred>
std::string_view trim_start(std::string_view s, Pred pred) {
  size_t i = 0;
  uint32_t cp;
  while (i < s.size()) {
    size_t n = decode(s, i, &cp);
    if (!n || !pred(cp)) break;
    i += n;
  }
  return s.substr(i);
}

template <typename Pred>
std::string_view trim_end(std::string_view s, Pred pred) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;  // find the start of the last character
    while (start > 0 && end - start < 4 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    uint32_t cp;
    size_t n = decode(s, start, &cp);
    if (n != end - start || !pred(cp)) break;
    end = start;
  }
  return s.substr(0, end);
}

}  // namespace llada::utf8
