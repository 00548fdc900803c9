#include "core/sys.h"

#include <omp.h>

#include <cstdio>
#include <cstring>

namespace llada {

static double status_kb(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  size_t n = std::strlen(key);
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, key, n) == 0) { std::sscanf(line + n, "%lf", &kb); break; }
  std::fclose(f);
  return kb;
}

double peak_rss_mb() { return status_kb("VmHWM:") / 1024.0; }
double current_rss_mb() { return status_kb("VmRSS:") / 1024.0; }
void set_num_threads(int n) { if (n > 0) omp_set_num_threads(n); }
int num_threads() { return omp_get_max_threads(); }

}  // namespace llada
