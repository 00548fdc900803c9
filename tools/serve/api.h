// The OpenAI-compatible request and response shapes of `llada-serve`: requests parsed into a
// generation job (prompt ids, options, limits), responses and stream chunks built from results,
// and errors in the OpenAI error shape with their HTTP status. No networking here.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sample/decoder.h"
#include "sample/options.h"
#include "sample/session.h"

namespace llada::serve {

// A request the server refuses: HTTP status, OpenAI error type, message, and the field at fault.
struct ApiError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string message;
  std::string param;  // the request field, "" when none
  nlohmann::json body() const;
};

// The server's defaults for every request (its command-line flags).
struct Defaults {
  sample::GenerateOptions options;  // unresolved: steps / block_length may be unset
  std::string cache = "none";
  int64_t max_tokens = 0;           // 0: options.gen_length
};

enum class Endpoint { Completions, ChatCompletions };

// One parsed request: what to decode and how to answer.
struct Request {
  Endpoint endpoint = Endpoint::Completions;
  std::vector<int32_t> prompt;
  sample::GenerateOptions options;  // resolved: gen_length a multiple of the block, steps set
  sample::CacheMode cache = sample::CacheMode::None;
  int64_t max_tokens = 0;           // the answer is cut to this many tokens
  std::vector<std::string> stop;    // the answer ends before the first of these
  bool stream = false;
  bool diffusion_frames = false;    // stream: one chunk per denoising step with the canvas
  bool include_usage = true;        // stream: the final chunk carries usage and timings
  // The batching key: requests with equal keys decode in one batched call.
  std::string batch_key() const;
};

// Parses a /v1/completions or /v1/chat/completions body. Throws ApiError (400) naming the field.
Request parse_request(const nlohmann::json& body, Endpoint endpoint, const sample::Session& s,
                      const Defaults& d);

// The answer of one row once generation ended: text cut at EOS / EoT, max_tokens and the first
// stop string; finish_reason "stop" when one of those ended it, else "length".
struct Answer {
  std::string text;
  int64_t tokens = 0;
  std::string finish_reason = "length";
};
Answer final_answer(const sample::Session& s, const Request& r, const std::vector<int32_t>& generated);

// The committed prefix of a row while it is still decoding: the answer's text up to the first
// position still masked (stopping early at EOS / EoT / max_tokens / a stop string, which also sets
// `ended`).
struct Partial {
  std::string text;
  bool ended = false;
};
Partial committed_text(const sample::Session& s, const Request& r, const int32_t* row, int64_t gen_length);

struct Timings {
  int64_t model_calls = 0;
  double seconds = 0, tokens_per_call = 0, tokens_per_second = 0;
};

// Response bodies. `id` names the request ("cmpl-..." / "chatcmpl-..."), `model` the served name.
nlohmann::json response_body(const Request& r, const std::string& id, const std::string& model, int64_t created,
                             const Answer& a, const Timings& t);
// One streamed chunk with a text delta (an empty delta for diffusion frames, with `frame` added).
nlohmann::json chunk_body(const Request& r, const std::string& id, const std::string& model, int64_t created,
                          const std::string& delta, const std::optional<std::string>& finish_reason,
                          const nlohmann::json& frame = nullptr);
nlohmann::json usage_json(const Request& r, const Answer& a, const Timings& t);

}  // namespace llada::serve
