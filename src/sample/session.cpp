#include "sample/session.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/error.h"

namespace llada::sample {

Session Session::open(const std::string& dir) {
  Session s;
  s.dir = dir;
  s.model = Model::load(dir);
  s.model.pack_for_inference();  // sampling only reads the weights: pack them once for speed
  const ModelConfig& c = s.model.cfg;
  if (std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json"))
    s.tok = Tokenizer::load(dir);
  llada::SpecialIds ts;
  if (s.tok) ts = s.tok->special();
  s.sp.mask = int32_t(c.mask_token_id >= 0 ? c.mask_token_id : ts.mask);
  s.sp.eos = int32_t(c.eos_token_id >= 0 ? c.eos_token_id : ts.eos);
  s.sp.eot = int32_t(c.eot_token_id >= 0 ? c.eot_token_id : ts.eot);
  s.sp.pad = int32_t(c.pad_token_id >= 0 ? c.pad_token_id : s.sp.eos);
  s.sp.vocab = c.vocab_size;
  s.sp.max_len = c.max_sequence_length;
  LLADA_CHECK(s.sp.mask >= 0, "%s/config.json: no mask_token_id (and no <|mdm_mask|> in the tokenizer)",
              dir.c_str());
  LLADA_CHECK(s.sp.eos >= 0, "%s/config.json: no eos_token_id (and no EOS in the tokenizer)", dir.c_str());
  return s;
}

const Tokenizer& Session::tokenizer(const char* flag) const {
  LLADA_CHECK(tok.has_value(), "%s needs a tokenizer, but %s has no tokenizer.json (use --prompt-ids)",
              flag, dir.c_str());
  return *tok;
}

std::vector<int32_t> answer_ids(const std::vector<int32_t>& g, const SpecialIds& sp) {
  std::vector<int32_t> out;
  for (int32_t v : g) {
    if (v == sp.eos || (sp.eot >= 0 && v == sp.eot)) break;
    out.push_back(v);
  }
  return out;
}

CommittedPrefix committed_prefix(const SpecialIds& sp, const int32_t* g, int64_t n) {
  CommittedPrefix p;
  for (int64_t i = 0; i < n && g[i] != sp.mask; ++i) {
    if (g[i] == sp.eos || (sp.eot >= 0 && g[i] == sp.eot)) {
      p.ended = true;
      break;
    }
    p.ids.push_back(g[i]);
  }
  return p;
}

size_t printable_length(const std::string& text) {
  static const std::string replacement = "\xEF\xBF\xBD";
  size_t n = text.size();
  while (n >= 3 && text.compare(n - 3, 3, replacement) == 0) n -= 3;
  return n;
}

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(ids[i]);
  }
  return s;
}

std::string answer_text(const Session& s, const std::vector<int32_t>& generated) {
  const auto a = answer_ids(generated, s.sp);
  return s.tok ? s.tok->decode(a, /*skip_special=*/true) : join_ids(a);
}

std::vector<int32_t> first_chat_prompt(const Session& s, const std::string& user) {
  return encode_chat(s.tokenizer("--chat"), {{"user", user}}, true, true);
}

std::vector<int32_t> next_chat_prompt(const Session& s, const std::vector<int32_t>& previous,
                                      const std::vector<int32_t>& generated, const std::string& user) {
  std::vector<int32_t> p = previous;
  for (int32_t v : generated)
    if (v != s.sp.eos) p.push_back(v);
  const auto turn = encode_chat(s.tokenizer("chat"), {{"user", user}}, true, false);
  p.insert(p.end(), turn.begin(), turn.end());
  return p;
}

namespace {

// Columns `text` takes on a terminal (3- and 4-byte UTF-8 sequences, CJK and the like, take two),
// escape sequences excluded.
int64_t display_columns(const std::string& text) {
  int64_t cols = 0;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == 0x1b) {  // CSI: ESC [ ... letter
      i += 2;
      while (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
      ++i;
      continue;
    }
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    cols += len >= 3 ? 2 : 1;
    i += len;
  }
  return cols;
}

int64_t terminal_columns() {
  winsize w{};
  if (ioctl(fileno(stderr), TIOCGWINSZ, &w) == 0 && w.ws_col > 0) return w.ws_col;
  return 80;
}

}  // namespace

StepObserver terminal_canvas(const Session& s) {
  const bool tty = isatty(fileno(stderr));
  // Lines the previous frame of this generation took: the next frame moves up over them and
  // redraws in place, so whatever was above (a conversation) stays on the screen.
  auto drawn = std::make_shared<int64_t>(0);
  return [&s, tty, drawn](const StepView& v) {
    std::string out;
    if (v.nfe <= 1) *drawn = 0;  // a new generation starts below the last one
    if (tty && *drawn > 0) out += strformat("\x1b[%lldA\r\x1b[J", (long long)*drawn);
    const std::string header = strformat("block %lld  step %lld  model calls %lld", (long long)v.block,
                                         (long long)v.step, (long long)v.nfe);
    std::string canvas;
    for (int64_t t = v.prompt_len; t < v.T; ++t) {
      const int32_t id = v.ids[t];
      if (id == s.sp.mask) {
        canvas += tty ? "\x1b[2m\xe2\x96\x91\x1b[0m" : "_";  // dim light shade
      } else if (id == s.sp.eos) {
        canvas += tty ? "\x1b[2m\xc2\xb7\x1b[0m" : ".";     // dim middle dot: end of text
      } else if (s.tok) {
        std::string piece = s.tok->token_to_piece(id);
        for (char& ch : piece)
          if (ch == '\n') ch = ' ';
        canvas += piece;
      } else {
        canvas += strformat("[%d]", id);
      }
    }
    out += header + "\n" + canvas + "\n";
    const int64_t cols = terminal_columns();
    *drawn = 1 + std::max<int64_t>(1, (display_columns(canvas) + cols - 1) / cols);
    std::fputs(out.c_str(), stderr);
    std::fflush(stderr);
    return true;
  };
}

}  // namespace llada::sample
