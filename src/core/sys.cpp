#include "core/sys.h"

#include <omp.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

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
double available_memory_mb() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::strncmp(line, "MemAvailable:", 13) == 0) { std::sscanf(line + 13, "%lf", &kb); break; }
  std::fclose(f);
  return kb / 1024.0;
}
void release_file_pages(const void* data, size_t bytes) {
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  const uintptr_t lo = (uintptr_t(data) + page - 1) / page * page;
  const uintptr_t hi = (uintptr_t(data) + bytes) / page * page;
  if (hi > lo) (void)madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_PAGEOUT);
}

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

void set_num_threads(int n) { if (n > 0) omp_set_num_threads(n); }
int num_threads() { return omp_get_max_threads(); }

bool enable_amx() {
#if defined(__linux__) && defined(__x86_64__)
  static const bool ok = [] {
    if (!__builtin_cpu_supports("avx512f")) return false;
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
    const bool amx_tile = (d >> 24) & 1, amx_bf16 = (d >> 22) & 1;
    if (!amx_tile || !amx_bf16) return false;
    constexpr int kArchGetXcompPerm = 0x1022, kArchReqXcompPerm = 0x1023, kXtileData = 18;
    if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXtileData) != 0) return false;
    unsigned long mask = 0;
    return syscall(SYS_arch_prctl, kArchGetXcompPerm, &mask) == 0 && ((mask >> kXtileData) & 1);
  }();
  return ok;
#else
  return false;
#endif
}

}  // namespace llada
