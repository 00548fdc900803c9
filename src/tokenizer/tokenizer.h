// The tokenizer: a byte-level BPE that reads and writes Hugging Face tokenizer.json files and encodes
// exactly like the reference implementation (npm @huggingface/tokenizers), plus the LLaDA chat format
// and a trainer (byte-level BPE or one token per character). See docs/tokenizer.md.
//
// Pipeline of encode(): split out added tokens (leftmost-longest, lstrip/rstrip) -> normalizer ->
// pre-tokenizer (regex Split, ByteLevel) -> BPE (heap over adjacent pairs, per-thread word cache) ->
// post-processor (only with add_special). Anything a tokenizer.json uses that this file does not
// implement is an llada::Error naming it, never a silent difference.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llada {

struct TokenizerImpl;

// Ids of the special tokens the engine needs; -1 where the tokenizer has none.
struct SpecialIds {
  int32_t bos = -1, eos = -1, pad = -1, mask = -1;
  int32_t eot = -1, start_header = -1, end_header = -1;
};

class Tokenizer {
 public:
  Tokenizer();
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  Tokenizer(const Tokenizer&);
  Tokenizer& operator=(const Tokenizer&);

  // `path` is a tokenizer.json or a directory holding one; tokenizer_config.json beside it is read when
  // present (BOS/EOS names, chat template). Errors name the file and the field at fault.
  static Tokenizer load(const std::string& path);
  // From in-memory JSON texts (config may be empty). `origin` names the source in error messages.
  static Tokenizer from_json(std::string_view tokenizer_json, std::string_view config_json = {},
                             const std::string& origin = "tokenizer.json");

  // Special tokens written in the text are matched (as the reference does). add_special applies the
  // post-processor template (e.g. a BOS), if the file has one.
  std::vector<int32_t> encode(std::string_view text, bool add_special = false) const;
  // Many documents at once, in parallel (OpenMP); same result as encode() on each.
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts,
                                                 bool add_special = false) const;
  // Raw bytes: decode(encode(s)) == s for every input, valid UTF-8 or not. Unknown ids are an error.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;
  // The bytes one token stands for (added tokens: their content). For streaming and --show.
  std::string token_to_piece(int32_t id) const;
  // The token as written in the vocabulary (byte-level form, e.g. "Ġthe"); "" for an unknown id.
  std::string id_to_token(int32_t id) const;
  // Id of a token as written in the vocabulary or an added token's content; -1 if absent.
  int32_t token_id(std::string_view token) const;
  bool is_special(int32_t id) const;
  int64_t vocab_size() const;  // max id + 1, added tokens included
  SpecialIds special() const;
  // The chat_template string of tokenizer_config.json ("" if none).
  const std::string& chat_template() const;

  // Writes DIR/tokenizer.json and DIR/tokenizer_config.json (each atomically); creates DIR.
  void save(const std::string& dir) const;
  std::string to_json() const;         // tokenizer.json text
  std::string config_to_json() const;  // tokenizer_config.json text

 private:
  std::shared_ptr<const TokenizerImpl> impl_;
};

// ---- Chat format (spec section 1) ----
struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

// <|startoftext|><|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>...; content trimmed;
// BOS only before the first message (when add_bos); the generation prompt opens an assistant turn.
std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                bool add_bos = true, const std::string& bos_token = "<|startoftext|>");
// Renders with the tokenizer's BOS name and encodes (special tokens matched).
std::vector<int32_t> encode_chat(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt, bool add_bos = true);
// Throws llada::Error unless `chat_template` (a Jinja string from tokenizer_config.json) renders the
// LLaDA / LLaMA-3 header format that apply_chat_template implements. Empty is accepted.
void check_chat_template_supported(const std::string& chat_template);

// ---- Training ----
struct TrainOptions {
  int64_t vocab_size = 16384;  // total, special tokens included
  int64_t min_frequency = 2;   // BPE: stop when the best pair is rarer; char level: drop rarer chars
  bool show_progress = true;
  // Special tokens, in id order after the learned vocabulary. Defaults: the LLaDA set.
  std::vector<std::string> special_tokens = {"<|startoftext|>", "<|endoftext|>", "<|mdm_mask|>",
                                             "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"};
};

// Byte-level BPE with the LLaMA-3 split regex; ids 0..255 are the bytes.
Tokenizer train_bpe(const std::vector<std::string>& files, const TrainOptions& opt);
Tokenizer train_bpe_from_texts(const std::vector<std::string>& texts, const TrainOptions& opt);
// One token per character (most frequent first), with the 256 byte tokens as the fallback for any
// character outside the vocabulary (see docs/tokenizer.md).
Tokenizer train_char_level(const std::vector<std::string>& files, const TrainOptions& opt);
Tokenizer train_char_level_from_texts(const std::vector<std::string>& texts, const TrainOptions& opt);

}  // namespace llada
