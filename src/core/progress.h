// A terminal progress bar with rate and ETA, written to stderr at most ~10 times a second.
// Quiet when stderr is not a terminal unless forced, so logs stay readable.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace llada {

class Progress {
 public:
  // `first`: units already done before this process started (a resumed run): the rate and ETA
  // count only the units done here.
  Progress(std::string label, int64_t total, std::string unit = "it", int64_t first = 0);
  ~Progress();
  // Advance to `done` units; `extra` is shown after the bar (e.g. "loss 2.31").
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");
  static void set_enabled(bool on);  // default: isatty(stderr)
  static bool enabled();             // whether bars are drawn (callers log lines instead when not)

 private:
  void draw(bool final);
  std::string label_, unit_, extra_;
  int64_t total_, done_ = 0, first_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool finished_ = false;
};

}  // namespace llada
