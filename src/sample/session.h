// What the `generate` and `chat` front ends share: a loaded model with its tokenizer (when the
// directory has one) and the special ids taken from the model's files, the terminal canvas of
// --show, and the multi-turn history rule of spec section 1. No CLI parsing here.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/model.h"
#include "sample/generate.h"
#include "tokenizer/tokenizer.h"

namespace llada::sample {

struct Session {
  std::string dir;
  Model model;
  std::optional<Tokenizer> tok;  // absent when the directory has no tokenizer.json
  SpecialIds sp;

  // Loads DIR (config.json, weights, and tokenizer.json when present). Mask and EOS come from
  // config.json, falling back to the tokenizer; EoT from config.json's eot_token_id or the tokenizer.
  static Session open(const std::string& dir);
  // The tokenizer, or an error naming `flag` (the option that needed text).
  const Tokenizer& tokenizer(const char* flag) const;
};

// Generated ids cut at the first EOS or EoT (what a reader calls "the answer").
std::vector<int32_t> answer_ids(const std::vector<int32_t>& generated, const SpecialIds& sp);
// The answer as text (special tokens skipped), or the ids comma-separated without a tokenizer.
std::string answer_text(const Session& s, const std::vector<int32_t>& generated);
std::string join_ids(const std::vector<int32_t>& ids);

// While decoding: the answer's committed prefix, the ids before the first position still masked,
// cut at the first EOS or EoT (`ended` then). Committed ids never change, so a front end can print
// (stream) the prefix as it grows.
struct CommittedPrefix {
  std::vector<int32_t> ids;
  bool ended = false;
};
CommittedPrefix committed_prefix(const SpecialIds& sp, const int32_t* generated, int64_t n);

// Text of a growing answer that is safe to print: without a trailing incomplete UTF-8 character
// (a byte-level token may end mid-character; decode shows it as U+FFFD until the rest arrives).
size_t printable_length(const std::string& text);

// Spec section 1: the next prompt is the previous prompt + the generated answer with every EOS
// removed (EoT kept) + the new user turn (chat template, no BOS).
std::vector<int32_t> next_chat_prompt(const Session& s, const std::vector<int32_t>& previous_prompt,
                                      const std::vector<int32_t>& generated, const std::string& user);
// The first turn: BOS + user turn + the assistant header.
std::vector<int32_t> first_chat_prompt(const Session& s, const std::string& user);

// --show: redraws the canvas of the first sequence on stderr after every step (ANSI): masks as dim
// placeholders, committed tokens as their text.
StepObserver terminal_canvas(const Session& s);

}  // namespace llada::sample
