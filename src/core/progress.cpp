#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace llada {

static int g_enabled = -1;  // -1: decide by isatty

void Progress::set_enabled(bool on) { g_enabled = on ? 1 : 0; }

bool Progress::enabled() {
  if (g_enabled < 0) g_enabled = ::isatty(2) ? 1 : 0;
  return g_enabled == 1;
}

Progress::Progress(std::string label, int64_t total, std::string unit, int64_t first)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), done_(first), first_(first) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  if (!finished_ && done_ > first_) finish();
}

void Progress::update(int64_t done, const std::string& extra) {
  done_ = done;
  extra_ = extra;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
  last_draw_ = now;
  draw(false);
}

void Progress::finish(const std::string& extra) {
  if (!extra.empty()) extra_ = extra;
  finished_ = true;
  draw(true);
}

static std::string hms(double s) {
  if (s < 0 || s > 1e7) return "--:--";
  int t = int(s + 0.5);
  char b[32];
  if (t >= 3600) std::snprintf(b, sizeof b, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(b, sizeof b, "%02d:%02d", t / 60, t % 60);
  return b;
}

void Progress::draw(bool final) {
  if (!enabled()) return;
  double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = el > 0 ? double(done_ - first_) / el : 0;
  double frac = total_ > 0 ? double(done_) / double(total_) : 0;
  if (frac > 1) frac = 1;
  const int width = 30;
  int fill = int(frac * width);
  std::string bar(size_t(fill), '#');
  bar.append(size_t(width - fill), '-');
  double eta = rate > 0 ? double(total_ - done_) / rate : -1;
  std::fprintf(stderr, "\r%s [%s] %lld/%lld %.1f %s/s %s<%s %s\033[K", label_.c_str(), bar.c_str(),
               (long long)done_, (long long)total_, rate, unit_.c_str(), hms(el).c_str(),
               hms(eta).c_str(), extra_.c_str());
  if (final) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace llada
