#include "core/signal_receiver.h"

#include <omp.h>
#include <pthread.h>

namespace llada {

namespace {
// Each thread of an OpenMP team runs the region once, so every worker of the pool (the threads
// later parallel regions reuse) applies the change to its own mask. Threads created later inherit
// the mask of the thread that creates them, which is blocked too.
void mask_on_openmp_workers(int how, const sigset_t& set) {
  if (omp_in_parallel()) return;  // a nested team's threads are not the pool's
#pragma omp parallel num_threads(omp_get_max_threads())
  pthread_sigmask(how, &set, nullptr);
}
}  // namespace

SignalReceiver::SignalReceiver(std::initializer_list<int> signals) {
  sigemptyset(&set_);
  for (int s : signals) sigaddset(&set_, s);
  pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
  mask_on_openmp_workers(SIG_BLOCK, set_);
  receiver_ = std::thread([this] {
    pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);  // the one thread that takes them
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [this] { return stop_; });  // a handler run here returns into this wait
  });
}

SignalReceiver::~SignalReceiver() {
  {
    std::lock_guard<std::mutex> lock(m_);
    stop_ = true;
  }
  cv_.notify_one();
  receiver_.join();
  mask_on_openmp_workers(SIG_UNBLOCK, set_);
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace llada
