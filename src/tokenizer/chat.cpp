// The LLaDA chat format (spec section 1), the same header layout as LLaMA-3:
//   <|startoftext|><|start_header_id|>user<|end_header_id|>\n\n{content}<|eot_id|>
//   <|start_header_id|>assistant<|end_header_id|>\n\n        (the generation prompt)
#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace llada {

std::string apply_chat_template(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                bool add_bos, const std::string& bos_token) {
  std::string out;
  if (add_bos) out += bos_token;
  for (const ChatMessage& m : messages) {
    LLADA_CHECK(!m.role.empty(), "chat message with an empty role");
    out += "<|start_header_id|>";
    out += m.role;
    out += "<|end_header_id|>\n\n";
    // Jinja's |trim is Python's str.strip().
    out += utf8::trim_end(utf8::trim_start(m.content, utf8::is_py_space), utf8::is_py_space);
    out += "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::vector<int32_t> encode_chat(const Tokenizer& tok, const std::vector<ChatMessage>& messages,
                                 bool add_generation_prompt, bool add_bos) {
  SpecialIds sp = tok.special();
  LLADA_CHECK(sp.start_header >= 0 && sp.end_header >= 0 && sp.eot >= 0,
              "chat format: the tokenizer lacks <|start_header_id|>, <|end_header_id|> or <|eot_id|>");
  std::string bos;
  if (add_bos) {
    LLADA_CHECK(sp.bos >= 0, "chat format: the tokenizer has no BOS token");
    bos = tok.id_to_token(sp.bos);
  }
  return tok.encode(apply_chat_template(messages, add_generation_prompt, add_bos, bos), false);
}

void check_chat_template_supported(const std::string& t) {
  if (t.empty()) return;
  // The LLaDA and LLaMA-3 templates: role inside the header tokens, "\n\n", trimmed content, <|eot_id|>,
  // the BOS before the first message only.
  // The "\n\n" may be written as an escape or (after JSON decoding) as two newlines.
  bool headers = t.find("'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'") !=
                     std::string::npos ||
                 t.find("'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'") !=
                     std::string::npos;
  bool trimmed = t.find("message['content'] | trim") != std::string::npos;
  bool eot = t.find("'<|eot_id|>'") != std::string::npos;
  bool bos_first = t.find("loop.index0 == 0") != std::string::npos && t.find("bos_token") != std::string::npos;
  LLADA_CHECK(headers && trimmed && eot && bos_first,
              "tokenizer_config.json: chat_template is not the LLaDA / LLaMA-3 header format, the only "
              "one supported (template starts: %.120s)", t.c_str());
}

}  // namespace llada
