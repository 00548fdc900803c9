// A varied text sample for the exactness tests against the reference (npm @huggingface/tokenizers):
// English prose, Chinese poetry, source code, numbers, emoji, runs of spaces and newlines, special
// tokens inside text, plus deterministic random mixtures of tricky fragments.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace llada::test {

inline std::vector<std::string> sample_texts() {
  std::vector<std::string> t = {
      "Hello world",
      "In the beginning God created the heaven and the earth. And the earth was without form, and void; "
      "and darkness was upon the face of the deep.",
      "It's a truth universally acknowledged, isn't it? They'll say we'd've known; I'm sure you're right.",
      "IT'S SHOUTING: DON'T, WON'T, CAN'T! 'Quoted' \"double\" `back`",
      "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
      "春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。\n白日依山尽，黄河入海流。",
      "秦川雄帝宅，函谷壯皇居。綺殿千尋起，離宮百雉餘。",
      "int main(int argc, char** argv) {\n    for (int i = 0; i < argc; ++i) {\n\t\tprintf(\"%s\\n\", argv[i]);\n    }\n    return 0;\n}\n",
      "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n\n\nclass A(B):\n    pass\n",
      "1234567890 3.14159 -42 1e-10 0x1F 1,000,000 12:30 2024-01-01 ٣٤٥ ⅷ ½",
      "Emoji: 😀😃😄 👨‍👩‍👧‍👦 🇫🇷 ❤️ 👍🏽 🤖",
      "   leading spaces",
      "trailing spaces   ",
      "a  b   c    d\t\te\n\nf\n\n\n\ng \n \n h",
      "\n\n\n",
      "   ",
      " ",
      "\r\n\r\nwindows\r\nlines\r\n",
      "<|startoftext|>Hello<|endoftext|>",
      "<|eot_id|>hi<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>",
      "text <|mdm_mask|><|mdm_mask|> more <|mdm_mask|>",
      "<|begin_of_text|> spaced <|end_of_text|> ",
      "not special: <|eot_id| <eot_id|> <|unknown|>",
      "Ünïcödé àccents: café naïve résumé Ångström ß ẞ ﬁ ǅ",
      "Русский текст, ελληνικά, עברית, العربية, हिन्दी, 日本語のテキスト, 한국어",
      "mixed中文English混合123数字",
      "URL: https://example.com/path?q=1&r=2#frag email@test.org",
      "$$$ ### @@@ !!! ??? ... --- ___ *** +++ === ~~~ ^^^ |||",
      "'s 's 'S 'll 'LL 've 'Ve 're 'd 'm 'ſ 'K",
      "tab\tseparated\tvalues\t\t\n",
      "\u00a0nbsp\u00a0\u00a0x\u3000ideographic\u2003em\u2028line\u2029para",
      "combining: e\u0301 a\u0308 n\u0303 \u0915\u094d\u0937",
      "zero\u200bwidth\u200djoiner\ufeffbom",
      "a",
      "",
  };
  // Deterministic random mixtures of fragments that stress the split regex and the merges.
  const std::vector<std::string> frags = {
      " ", "  ", "\n", "\n\n", "\t", "the", " the", "The", "Hello", " world", "'s", "'t", "123", "4567",
      "3.5", "中", "国", "诗", "，", "。", "😀", "🇫🇷", "é", "e\u0301", "...", "!!", "(", ")", "{", "}",
      "<|eot_id|>", "<|mdm_mask|>", "<|startoftext|>", "x", "xyz", "ABC", "_", "-", "\r\n", "  \n",
      "\u00a0", "ß", "Ω", "ж", "ا", "अ", "1", "0", "\\", "\"", "'", "`"};
  uint64_t s = 0x9E3779B97F4A7C15ull;
  for (int k = 0; k < 300; ++k) {
    std::string text;
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    int n = 1 + int((s >> 33) % 24);
    for (int j = 0; j < n; ++j) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      text += frags[(s >> 33) % frags.size()];
    }
    t.push_back(text);
  }
  return t;
}

}  // namespace llada::test
