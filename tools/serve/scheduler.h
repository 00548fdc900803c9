// The server's one generation worker: requests wait in a bounded queue; the worker takes the oldest
// and every queued request that decodes the same way (Request::batch_key) up to max_batch, and runs
// them as one batched generation (left padding). Streaming requests receive their committed text
// as it grows, and with diffusion_frames one frame per denoising step; a request whose client left
// is cancelled, and a batch whose requests are all finished or cancelled stops at the next step.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "api.h"

namespace llada::serve {

// One request's life: the worker pushes events (SSE payloads) or the final answer; the HTTP thread
// waits for them.
class Job {
 public:
  Job(Request r, std::string id, std::string model, int64_t created)
      : req(std::move(r)), id(std::move(id)), model(std::move(model)), created(created) {}

  const Request req;
  const std::string id, model;
  const int64_t created;

  // Worker side.
  void push(std::string payload);               // one `data:` payload (a JSON chunk or "[DONE]")
  void finish(Answer a, Timings t);             // the final answer (non-streaming requests read it)
  void fail(ApiError e);
  // HTTP side. next() waits up to `ms` for a payload; false when none came (poll again) or the job
  // is finished with nothing left (then done() is true).
  bool next(std::string& payload, int ms);
  bool done();
  // Waits up to `ms` for the end (then the answer, or the error, is set); false when not ended.
  bool wait_for(int ms);
  Answer answer;
  Timings timings;
  std::optional<ApiError> error;
  std::atomic<bool> cancelled{false};  // the client left

  // Worker-private streaming state.
  std::string sent;                 // text already streamed
  std::vector<int32_t> last_canvas;  // for the frames' "committed this step"
  bool closed = false;              // the stream's last chunk went out

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> events_;
  bool finished_ = false;
};

struct SchedulerStats {
  int64_t queued = 0, running = 0, completed = 0, cancelled = 0, rejected = 0, batches = 0, batched_requests = 0;
};

class Scheduler {
 public:
  Scheduler(const sample::Session& s, int64_t max_queue, int64_t max_batch);
  ~Scheduler();
  // Queues the job; false (nothing queued) when max_queue requests already wait.
  bool submit(const std::shared_ptr<Job>& job);
  SchedulerStats stats();

 private:
  void worker();
  void run_batch(std::vector<std::shared_ptr<Job>>& batch);

  const sample::Session& s_;
  const int64_t max_queue_, max_batch_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;
  SchedulerStats stats_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace llada::serve
