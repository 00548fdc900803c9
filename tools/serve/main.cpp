// llada-serve: an OpenAI-compatible HTTP server for one model directory (docs/serving.md).
//   GET  /, the web page (tools/serve/page.html); /health, /v1/models
//   POST /v1/completions, /v1/chat/completions   (stream: server-sent events, one content delta
//        as the committed text grows; diffusion_frames: one frame per denoising step)
// Its own target, so the `llada` CLI carries no HTTP dependency.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>

#include "../llada/command.h"
#include "../llada/generation_flags.h"
#include "api.h"
#include "core/error.h"
#include "core/sys.h"
#include "scheduler.h"
#include "serve/page_html.h"

namespace {

using namespace llada;
using namespace llada::serve;
using nlohmann::json;

// A plain (non-streaming) answer ready within this time is sent whole, with its status; a longer one
// is sent chunked so that a client that left can be noticed (see the handler).
constexpr int kPlainAnswerWaitMs = 500;
// How often a waiting HTTP thread looks at its client.
constexpr int kClientPollMs = 200;

struct ServeArgs {
  std::string model, host = "127.0.0.1", api_key, name;
  int port = 8080, threads = 0;
  int64_t max_queue = 64, max_batch = 8, max_body = 1 << 20, max_tokens = 0, http_threads = 96;
  cli::GenerationFlags gen;
};

std::atomic<httplib::Server*> g_server{nullptr};

void on_signal(int) {
  if (httplib::Server* s = g_server.load()) s->stop();
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(e.body().dump(), "application/json");
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string next_id(const char* prefix) {
  static std::atomic<uint64_t> n{0};
  return strformat("%s-%llx%06llu", prefix, (unsigned long long)unix_now(), (unsigned long long)++n);
}

// A plain (non-streaming) answer: whole, with its status, when it is ready within
// kPlainAnswerWaitMs; otherwise sent chunked, led by a space (JSON whitespace) every poll while it
// is computed: cpp-httplib 0.11 tells a handler nothing about its client, so a failed write is how
// a client that left is noticed, and its generation is cancelled at the next step. An error after
// that point keeps status 200 and arrives as the OpenAI error body.
void reply_plain(const std::shared_ptr<Job>& job, httplib::Response& res) {
  const auto body_of = [job] {
    return response_body(job->req, job->id, job->model, job->created, job->answer, job->timings)
        .dump(-1, ' ', false, json::error_handler_t::replace);
  };
  if (job->wait_for(kPlainAnswerWaitMs)) {
    if (job->error) return send_error(res, *job->error);
    return res.set_content(body_of(), "application/json");
  }
  res.set_chunked_content_provider(
      "application/json",
      [job, body_of](size_t, httplib::DataSink& sink) {
        while (!job->wait_for(kClientPollMs))
          if (!sink.write(" ", 1)) return false;
        const std::string body = job->error ? job->error->body().dump() : body_of();
        if (!sink.write(body.data(), body.size())) return false;
        sink.done();
        return true;
      },
      [job](bool success) {
        if (!success) job->cancelled = true;
      });
}

// Server-sent events: every payload the worker pushes, as it comes; a write that fails (the
// client left) cancels the job.
void reply_stream(const std::shared_ptr<Job>& job, httplib::Response& res) {
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [job](size_t, httplib::DataSink& sink) {
        std::string payload;
        for (;;) {
          if (!job->next(payload, kClientPollMs)) {
            if (job->done()) {
              sink.done();
              return true;
            }
            if (!sink.is_writable()) return false;
            continue;
          }
          const std::string event = "data: " + payload + "\n\n";
          if (!sink.write(event.data(), event.size())) return false;
          if (payload == "[DONE]") {
            sink.done();
            return true;
          }
        }
      },
      [job](bool success) {
        if (!success) job->cancelled = true;
      });
}

// The API key, and errors in the OpenAI shape for unknown routes, oversized bodies and exceptions.
void install_guards(httplib::Server& svr, const std::string& api_key) {
  svr.set_pre_routing_handler([api_key](const httplib::Request& req, httplib::Response& res) {
    // The page itself is public (it asks for the key); every API route needs it.
    if (api_key.empty() || req.path == "/health" || req.path == "/" || req.path == "/favicon.ico") return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + api_key) return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, {401, "invalid_request_error", "missing or wrong API key (Authorization: Bearer KEY)", ""});
    return httplib::Server::HandlerResponse::Handled;
  });
  svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;  // a handler's own error body
    if (res.status == 404) send_error(res, {404, "invalid_request_error", "no route " + req.method + " " + req.path, ""});
    else if (res.status == 413) send_error(res, {413, "invalid_request_error", "request body too large", ""});
    else send_error(res, {res.status, "invalid_request_error", strformat("HTTP %d", res.status), ""});
  });
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, {500, "server_error", what, ""});
  });
}

int run_serve(ServeArgs a) {
  set_num_threads(a.threads);
  LLADA_CHECK(a.port > 0 && a.port < 65536, "--port must be in [1, 65535], got %d", a.port);
  LLADA_CHECK(a.max_queue >= 1, "--max-queue must be >= 1, got %lld", (long long)a.max_queue);
  LLADA_CHECK(a.max_batch >= 1, "--max-batch must be >= 1, got %lld", (long long)a.max_batch);
  LLADA_CHECK(a.max_tokens >= 0, "--max-tokens must be >= 0, got %lld", (long long)a.max_tokens);
  LLADA_CHECK(a.max_body >= 1024, "--max-body must be >= 1024 bytes, got %lld", (long long)a.max_body);
  (void)a.gen.resolve();  // the defaults must be valid on their own (errors name the flag)

  const sample::Session s = sample::Session::open(a.model);
  LLADA_CHECK(s.tok.has_value(), "%s: no tokenizer.json; the server takes text", a.model.c_str());
  const std::string model_name = a.name.empty() ? a.model : a.name;
  Defaults defaults{a.gen.o, a.gen.cache, a.max_tokens};
  Scheduler sched(s, a.max_queue, a.max_batch);

  httplib::Server svr;
  svr.new_task_queue = [&] { return new httplib::ThreadPool(size_t(a.http_threads)); };
  svr.set_payload_max_length(size_t(a.max_body));
  install_guards(svr, a.api_key);

  svr.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kPageHtml, "text/html; charset=utf-8");
  });
  svr.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  svr.Get("/health", [&](const httplib::Request&, httplib::Response& res) {
    const SchedulerStats st = sched.stats();
    res.set_content(json{{"status", "ok"},
                         {"model", model_name},
                         {"queued", st.queued},
                         {"running", st.running},
                         {"completed", st.completed},
                         {"cancelled", st.cancelled},
                         {"rejected", st.rejected},
                         {"batches", st.batches},
                         {"batched_requests", st.batched_requests}}
                        .dump(),
                    "application/json");
  });
  svr.Get("/v1/models", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(json{{"object", "list"},
                         {"data", json::array({{{"id", model_name},
                                                {"object", "model"},
                                                {"created", 0},
                                                {"owned_by", "llada"},
                                                {"diffusion", !s.model.cfg.causal}}})}}
                        .dump(),
                    "application/json");
  });

  auto generate = [&](Endpoint endpoint) {
    return [&, endpoint](const httplib::Request& req, httplib::Response& res) {
      json body;
      try {
        body = json::parse(req.body);
      } catch (const json::exception& e) {
        return send_error(res, {400, "invalid_request_error", std::string("the body is not valid JSON: ") + e.what(), ""});
      }
      Request r;
      try {
        r = parse_request(body, endpoint, s, defaults);
      } catch (const ApiError& e) {
        return send_error(res, e);
      }
      const bool chat = endpoint == Endpoint::ChatCompletions;
      auto job = std::make_shared<Job>(r, next_id(chat ? "chatcmpl" : "cmpl"), model_name, unix_now());
      if (!sched.submit(job)) {
        res.set_header("Retry-After", "1");
        return send_error(res, {503, "server_busy", strformat("the queue is full (%lld waiting); retry later",
                                                              (long long)a.max_queue), ""});
      }
      if (r.stream)
        reply_stream(job, res);
      else
        reply_plain(job, res);
    };
  };
  svr.Post("/v1/completions", generate(Endpoint::Completions));
  svr.Post("/v1/chat/completions", generate(Endpoint::ChatCompletions));

  g_server = &svr;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  LLADA_CHECK(svr.bind_to_port(a.host.c_str(), a.port), "cannot listen on %s:%d (in use, or not an address here)",
              a.host.c_str(), a.port);
  std::fprintf(stderr, "llada-serve: %s (%s) on http://%s:%d%s\n", model_name.c_str(),
               s.model.cfg.causal ? "autoregressive" : "diffusion", a.host.c_str(), a.port,
               a.api_key.empty() ? "" : " (API key required)");
  std::fflush(stderr);
  svr.listen_after_bind();
  g_server = nullptr;
  std::fprintf(stderr, "llada-serve: stopped\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"llada-serve: an OpenAI-compatible server for a LLaDA (or causal) model directory"};
  ServeArgs a;
  app.add_option("--model", a.model, "model directory (with tokenizer.json)")->required();
  app.add_option("--host", a.host, "address to listen on (default 127.0.0.1: this machine only)");
  app.add_option("--port", a.port, "port (default 8080)");
  app.add_option("--api-key", a.api_key, "require 'Authorization: Bearer KEY' on every route but /health");
  app.add_option("--name", a.name, "the model's name in responses (default: the --model path)");
  app.add_option("--threads", a.threads, "OpenMP threads of the generation worker (default: all)");
  app.add_option("--max-queue", a.max_queue, "requests that may wait; more get 503 (default 64)");
  app.add_option("--max-batch", a.max_batch, "requests decoded together in one batched call (default 8)");
  app.add_option("--max-body", a.max_body, "largest request body in bytes (default 1 MiB; more get 413)");
  app.add_option("--max-tokens", a.max_tokens, "default max_tokens (default: --gen-length)");
  app.add_option("--http-threads", a.http_threads, "connection threads (default 96)");
  a.gen.add_to(app, /*batch=*/false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return run_serve(a);
  } catch (const OptionError& e) {
    std::fprintf(stderr, "llada-serve: error: %s\n", e.spelled(flag_spelling).c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llada-serve: error: %s\n", e.what());
  }
  return 1;
}
