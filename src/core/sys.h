// Process-level facts: wall clock, peak resident memory, thread count.
#pragma once
#include <chrono>
#include <cstddef>

namespace llada {

inline double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double peak_rss_mb();      // VmHWM from /proc/self/status
double current_rss_mb();   // VmRSS
void set_num_threads(int n);  // OpenMP threads for every kernel (n <= 0: leave the default)
int num_threads();

}  // namespace llada
