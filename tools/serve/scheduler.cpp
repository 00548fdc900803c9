#include "scheduler.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/error.h"

namespace llada::serve {

using nlohmann::json;

void Job::push(std::string payload) {
  {
    std::lock_guard<std::mutex> g(mu_);
    events_.push_back(std::move(payload));
  }
  cv_.notify_all();
}

void Job::finish(Answer a, Timings t) {
  {
    std::lock_guard<std::mutex> g(mu_);
    answer = std::move(a);
    timings = t;
    finished_ = true;
  }
  cv_.notify_all();
}

void Job::fail(ApiError e) {
  {
    std::lock_guard<std::mutex> g(mu_);
    error = std::move(e);
    finished_ = true;
  }
  cv_.notify_all();
}

bool Job::next(std::string& payload, int ms) {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_for(l, std::chrono::milliseconds(ms), [&] { return !events_.empty() || finished_; });
  if (events_.empty()) return false;
  payload = std::move(events_.front());
  events_.pop_front();
  return true;
}

bool Job::done() {
  std::lock_guard<std::mutex> g(mu_);
  return finished_ && events_.empty();
}

bool Job::wait_for(int ms) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, std::chrono::milliseconds(ms), [&] { return finished_; });
}

Scheduler::Scheduler(const sample::Session& s, int64_t max_queue, int64_t max_batch)
    : s_(s), max_queue_(max_queue), max_batch_(max_batch), thread_([this] { worker(); }) {}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool Scheduler::submit(const std::shared_ptr<Job>& job) {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (int64_t(queue_.size()) >= max_queue_) {
      ++stats_.rejected;
      return false;
    }
    queue_.push_back(job);
    stats_.queued = int64_t(queue_.size());
  }
  cv_.notify_all();
  return true;
}

SchedulerStats Scheduler::stats() {
  std::lock_guard<std::mutex> g(mu_);
  return stats_;
}

void Scheduler::worker() {
  for (;;) {
    std::vector<std::shared_ptr<Job>> batch;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      // The oldest request, then every queued one that decodes the same way, oldest first.
      batch.push_back(queue_.front());
      queue_.pop_front();
      const std::string key = batch[0]->req.batch_key();
      for (auto it = queue_.begin(); it != queue_.end() && int64_t(batch.size()) < max_batch_;) {
        if ((*it)->req.batch_key() == key) {
          batch.push_back(*it);
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
      stats_.queued = int64_t(queue_.size());
      stats_.running = int64_t(batch.size());
      ++stats_.batches;
      stats_.batched_requests += int64_t(batch.size());
    }
    // A request cancelled while it waited costs nothing.
    std::erase_if(batch, [&](const std::shared_ptr<Job>& j) {
      if (!j->cancelled) return false;
      j->fail({499, "cancelled", "the client closed the connection", ""});
      std::lock_guard<std::mutex> g(mu_);
      ++stats_.cancelled;
      return true;
    });
    if (!batch.empty()) run_batch(batch);
    std::lock_guard<std::mutex> g(mu_);
    stats_.running = 0;
  }
}

namespace {

// Text that may still change: a trailing incomplete UTF-8 character or the start of a stop string.
size_t stable_length(const std::string& text, const std::vector<std::string>& stop) {
  size_t n = sample::printable_length(text);
  for (const std::string& s : stop)
    for (size_t k = std::min(s.size() - 1, n); k > 0; --k)
      if (text.compare(n - k, k, s, 0, k) == 0) {
        n -= k;
        break;
      }
  return n;
}

json frame_json(const sample::Session& s, const sample::StepView& v, const int32_t* row, int64_t gen_length,
                std::vector<int32_t>& last) {
  json canvas = json::array(), committed = json::array();
  if (last.size() != size_t(gen_length)) last.assign(size_t(gen_length), s.sp.mask);
  for (int64_t i = 0; i < gen_length; ++i) {
    const int32_t id = row[i];
    if (id == s.sp.mask) {
      canvas.push_back(nullptr);
      continue;
    }
    canvas.push_back(s.tok ? s.tok->decode({id}, /*skip_special=*/false) : std::to_string(id));
    if (last[size_t(i)] != id) committed.push_back(i);
    last[size_t(i)] = id;
  }
  return {{"block", v.block}, {"step", v.step}, {"model_calls", v.nfe}, {"canvas", canvas}, {"committed", committed}};
}

std::string data(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

void Scheduler::run_batch(std::vector<std::shared_ptr<Job>>& batch) {
  const Request& lead = batch[0]->req;
  const int64_t gen = lead.options.gen_length;
  std::vector<std::vector<int32_t>> prompts;
  for (auto& j : batch) prompts.push_back(j->req.prompt);

  auto close_stream = [&](Job& j, const Answer& a, const Timings& t) {
    if (!j.req.stream || j.closed) return;
    if (a.text.size() > j.sent.size() && a.text.compare(0, j.sent.size(), j.sent) == 0)
      j.push(data(chunk_body(j.req, j.id, j.model, j.created, a.text.substr(j.sent.size()), std::nullopt)));
    j.sent = a.text;
    json last = chunk_body(j.req, j.id, j.model, j.created, "", a.finish_reason);
    if (j.req.include_usage) last["usage"] = usage_json(j.req, a, t);
    j.push(data(last));
    j.push("[DONE]");
    j.closed = true;
  };

  // Whether a row's answer can no longer change (ids only; text only when stop strings need it).
  auto answer_final = [&](const Request& r, const int32_t* row, int64_t n) {
    if (!r.stop.empty()) return committed_text(s_, r, row, n).ended;
    const sample::CommittedPrefix c = sample::committed_prefix(s_.sp, row, n);
    return c.ended || int64_t(c.ids.size()) >= r.max_tokens;
  };
  const auto start = std::chrono::steady_clock::now();
  auto observe = [&](const sample::StepView& v) -> bool {
    bool any_open = false;
    for (int64_t b = 0; b < v.B && b < int64_t(batch.size()); ++b) {
      Job& j = *batch[size_t(b)];
      if (j.cancelled || j.closed) continue;
      const int32_t* row = v.ids + b * v.T + (v.T - gen);
      if (j.req.stream) {
        const Partial p = committed_text(s_, j.req, row, gen);
        const size_t n = p.ended ? p.text.size() : stable_length(p.text, j.req.stop);
        if (n > j.sent.size() && p.text.compare(0, j.sent.size(), j.sent) == 0) {
          j.push(data(chunk_body(j.req, j.id, j.model, j.created, p.text.substr(j.sent.size(), n - j.sent.size()),
                                 std::nullopt)));
          j.sent = p.text.substr(0, n);
        }
        if (j.req.diffusion_frames)
          j.push(data(chunk_body(j.req, j.id, j.model, j.created, "", std::nullopt,
                                 frame_json(s_, v, row, gen, j.last_canvas))));
        // The answer is complete: the client need not wait for the rest of the canvas (unless it
        // watches the frames, which then run to the end).
        if (p.ended && !j.req.diffusion_frames) {
          // Timings of this row's part of the run (answer tokens per call, not committed positions).
          const Answer a = final_answer(s_, j.req, std::vector<int32_t>(row, row + gen));
          Timings t;
          t.model_calls = v.nfe;
          t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          t.tokens_per_call = v.nfe ? double(a.tokens) / double(v.nfe) : 0.0;
          t.tokens_per_second = t.seconds > 0 ? double(a.tokens) / t.seconds : 0.0;
          close_stream(j, a, t);
          continue;
        }
      } else if (answer_final(j.req, row, gen)) {
        continue;  // committed ids never change: no need to decode the rest of its canvas
      }
      any_open = true;
    }
    return any_open;
  };

  try {
    sample::Decoder dec(s_, lead.cache);
    sample::GenerateResult res = dec.run(prompts, lead.options, observe);
    Timings t;
    t.model_calls = res.stats.nfe;
    t.seconds = res.stats.seconds;
    t.tokens_per_call = res.stats.tokens_per_call();
    t.tokens_per_second = res.stats.tokens_per_second();
    for (size_t b = 0; b < batch.size(); ++b) {
      Job& j = *batch[b];
      if (j.cancelled) {
        j.fail({499, "cancelled", "the client closed the connection", ""});
        std::lock_guard<std::mutex> g(mu_);
        ++stats_.cancelled;
        continue;
      }
      const Answer a = final_answer(s_, j.req, res.tokens[b]);
      close_stream(j, a, t);
      j.finish(a, t);
      std::lock_guard<std::mutex> g(mu_);
      ++stats_.completed;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llada-serve: generation failed: %s\n", e.what());
    for (auto& j : batch) {
      ApiError err{500, "server_error", std::string("generation failed: ") + e.what(), ""};
      if (j->req.stream && !j->closed) {
        j->push(data(err.body()));
        j->push("[DONE]");
        j->closed = true;
      }
      j->fail(err);
    }
  }
}

}  // namespace llada::serve
