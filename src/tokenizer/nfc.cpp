#include "tokenizer/nfc.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "tokenizer/utf8.h"

namespace llada {
namespace {

#include "tokenizer/nfc_data.inc"

// Hangul syllables compose and decompose algorithmically (Unicode section 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

struct Tables {
  std::unordered_map<uint32_t, uint8_t> ccc;
  std::unordered_map<uint32_t, std::pair<uint32_t, uint32_t>> decomp;
  std::unordered_map<uint64_t, uint32_t> compose;
  std::vector<bool> maybe_changes;  // code points below 0x30000 that may change under NFC
  Tables() : maybe_changes(0x30000, false) {
    for (auto& e : kCcc) ccc[e[0]] = uint8_t(e[1]), mark(e[0]);
    for (auto& e : kDecomp) decomp[e[0]] = {e[1], e[2]}, mark(e[0]);
    for (auto& e : kCompose) compose[(uint64_t(e[0]) << 32) | e[1]] = e[2], mark(e[1]);
    for (uint32_t c = kVBase; c < kVBase + kVCount; ++c) mark(c);
    for (uint32_t c = kTBase + 1; c < kTBase + kTCount; ++c) mark(c);
  }
  void mark(uint32_t c) {
    if (c < maybe_changes.size()) maybe_changes[c] = true;
  }
  bool may_change(uint32_t c) const { return c >= maybe_changes.size() ? true : bool(maybe_changes[c]); }
  int cc(uint32_t c) const {
    auto it = ccc.find(c);
    return it == ccc.end() ? 0 : it->second;
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

constexpr uint32_t kInvalidBase = 0x80000000u;  // an invalid byte b is carried as kInvalidBase + b

void decompose(const Tables& t, uint32_t c, std::vector<uint32_t>* out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    uint32_t s = c - kSBase;
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out->push_back(kTBase + s % kTCount);
    return;
  }
  auto it = t.decomp.find(c);
  if (it == t.decomp.end()) {
    out->push_back(c);
    return;
  }
  decompose(t, it->second.first, out);
  if (it->second.second) decompose(t, it->second.second, out);
}

uint32_t compose_pair(const Tables& t, uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  auto it = t.compose.find((uint64_t(a) << 32) | b);
  return it == t.compose.end() ? 0 : it->second;
}

}  // namespace

std::string nfc(std::string_view text) {
  const Tables& t = tables();
  // Fast path: nothing in the text can change.
  bool quick = true;
  for (size_t i = 0; i < text.size() && quick;) {
    uint32_t cp;
    size_t n = utf8::decode(text, i, &cp);
    if (n && cp >= 0x300 && t.may_change(cp)) quick = false;
    i += n ? n : 1;
  }
  if (quick) return std::string(text);

  std::vector<uint32_t> cps;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp;
    size_t n = utf8::decode(text, i, &cp);
    if (n) {
      decompose(t, cp, &cps);
      i += n;
    } else {
      cps.push_back(kInvalidBase + static_cast<unsigned char>(text[i]));
      ++i;
    }
  }
  auto ccc_of = [&](uint32_t c) { return c >= kInvalidBase ? 0 : t.cc(c); };
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  for (size_t i = 0; i < cps.size();) {
    if (ccc_of(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && ccc_of(cps[j]) != 0) ++j;
    std::stable_sort(cps.begin() + std::ptrdiff_t(i), cps.begin() + std::ptrdiff_t(j),
                     [&](uint32_t a, uint32_t b) { return ccc_of(a) < ccc_of(b); });
    i = j;
  }
  // Canonical composition.
  std::vector<uint32_t> out;
  out.reserve(cps.size());
  ptrdiff_t starter = -1;
  int last_cc = -1;
  for (uint32_t c : cps) {
    int cc = ccc_of(c);
    if (starter >= 0 && c < kInvalidBase && out[size_t(starter)] < kInvalidBase) {
      bool blocked = last_cc != -1 && (last_cc == 0 || last_cc >= cc);
      if (!blocked) {
        uint32_t comp = compose_pair(t, out[size_t(starter)], c);
        if (comp) {
          out[size_t(starter)] = comp;
          continue;
        }
      }
    }
    if (cc == 0) {
      starter = ptrdiff_t(out.size());
      last_cc = -1;
    } else {
      last_cc = cc;
    }
    out.push_back(c);
  }
  std::string s;
  s.reserve(text.size());
  for (uint32_t c : out) {
    if (c >= kInvalidBase) {
      s += char(c - kInvalidBase);
    } else {
      utf8::append(s, c);
    }
  }
  return s;
}

}  // namespace llada
