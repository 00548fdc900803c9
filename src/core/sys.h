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
double available_memory_mb();  // MemAvailable from /proc/meminfo (0 when unknown)
// Hint that the pages of [data, data + bytes) will not be read soon (MADV_PAGEOUT): clean pages of
// a memory-mapped file are dropped now and fault back in if read again; anonymous pages without
// swap stay. Contents never change.
void release_file_pages(const void* data, size_t bytes);
// Whether an MPI launcher (mpirun) started this process: its environment names a rank. Known in
// every build, so one without MPI can refuse to train alone in each of mpirun's processes.
bool launched_by_mpi();
void set_num_threads(int n);  // OpenMP threads for every kernel (n <= 0: leave the default)
int num_threads();
// Asks Linux for permission to use AMX tile registers (arch_prctl ARCH_REQ_XCOMP_PERM), once per
// process; returns whether AMX can be used. Since Linux 5.16 a process that executes an AMX
// instruction without this permission dies with SIGILL, and oneDNN 2.6 picks AMX kernels for bf16
// products on CPUs that have it (Sapphire Rapids and later) without asking. Thread-safe.
bool enable_amx();

}  // namespace llada
