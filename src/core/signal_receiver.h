// While a SignalReceiver lives, the given signals (SIGINT, SIGTERM) are never delivered to a thread
// that computes: they are blocked on the thread that made the receiver and on every OpenMP worker,
// and one idle thread of the receiver's own takes them, so the installed handler runs there.
//
// Why: a handler that ran on a thread inside oneDNN's jit gemm (its kernel on CPUs without
// AVX-512) corrupted the heap, by a mechanism not pinned down (the handler itself only sets a flag): Ctrl-C / SIGTERM in the first steps of `llada train` ended in
// glibc aborts ("corrupted size vs. prev_size") from a free() inside dnnl_primitive_execute,
// 3 times in 10, and never without a signal.
//
// The handler itself stays the caller's (installed with sigaction before or after): threads that
// the receiver does not know (a library's own threads) may still receive the signal, as before.
#pragma once
#include <condition_variable>
#include <csignal>
#include <initializer_list>
#include <mutex>
#include <thread>

namespace llada {

class SignalReceiver {
 public:
  explicit SignalReceiver(std::initializer_list<int> signals = {SIGINT, SIGTERM});
  ~SignalReceiver();  // unblocks the signals again on the same threads
  SignalReceiver(const SignalReceiver&) = delete;
  SignalReceiver& operator=(const SignalReceiver&) = delete;

 private:
  sigset_t set_{};
  sigset_t old_mask_{};  // the creating thread's mask before
  std::mutex m_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread receiver_;
};

}  // namespace llada
