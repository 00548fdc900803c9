// SignalReceiver: while it lives, SIGINT / SIGTERM sent to the process run their handler on the
// receiver's own thread, never on the thread that made it or on an OpenMP worker (a handler's frame
// pushed onto a thread inside oneDNN's jit gemm corrupted the heap, see core/signal_receiver.h).
#include <gtest/gtest.h>
#include <omp.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include "core/signal_receiver.h"

namespace llada {
namespace {

std::atomic<int> g_count{0};
std::atomic<pthread_t> g_handler_thread{};
void record(int) {
  g_handler_thread = pthread_self();
  ++g_count;
}

struct HandlerScope {  // installs record() for SIGTERM, restores the previous action after
  struct sigaction old {};
  HandlerScope() {
    struct sigaction sa {};
    sa.sa_handler = record;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old);
  }
  ~HandlerScope() { sigaction(SIGTERM, &old, nullptr); }
};

bool wait_for_count(int n) {
  for (int i = 0; i < 500 && g_count.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  return g_count.load() >= n;
}

TEST(SignalReceiver, HandlersRunOnItsThreadNotOnComputingOnes) {
  HandlerScope handler;
  g_count = 0;
  std::set<pthread_t> computing;
  std::mutex m;
  {
    SignalReceiver receiver;
    for (int round = 1; round <= 20; ++round) {
      std::atomic<bool> sent{false};
      // The signal arrives while every OpenMP thread (the caller among them) is busy computing.
#pragma omp parallel num_threads(2)
      {
        {
          std::lock_guard<std::mutex> lock(m);
          computing.insert(pthread_self());
        }
#pragma omp barrier
#pragma omp single
        {
          kill(getpid(), SIGTERM);
          sent = true;
        }
        volatile double x = 0;
        for (int i = 0; i < 200000; ++i) x = x + i * 1e-9;
      }
      ASSERT_TRUE(sent.load());
      ASSERT_TRUE(wait_for_count(round)) << "signal " << round << " was not handled";
      EXPECT_EQ(computing.count(g_handler_thread.load()), 0u)
          << "round " << round << ": the handler ran on a computing thread";
    }
  }
  // After the receiver: the signals are unblocked again on the same threads.
  sigset_t mask;
  pthread_sigmask(SIG_BLOCK, nullptr, &mask);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
  g_count = 0;
  kill(getpid(), SIGTERM);
  ASSERT_TRUE(wait_for_count(1));
  EXPECT_EQ(g_handler_thread.load(), pthread_self()) << "without a receiver the main thread takes it";
}

}  // namespace
}  // namespace llada
