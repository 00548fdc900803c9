#include "train/interrupt.h"

#include <unistd.h>

#include <csignal>

namespace llada::train {

namespace {
volatile std::sig_atomic_t g_signal = 0;
struct sigaction g_old_int, g_old_term;

void on_signal(int sig) {
  if (g_signal != 0) _exit(128 + sig);  // the second one: now
  g_signal = sig;
  static const char msg[] = "\ninterrupted: finishing this step and writing a checkpoint (again to exit now)\n";
  (void)!::write(2, msg, sizeof msg - 1);
}
}  // namespace

InterruptGuard::InterruptGuard() {
  g_signal = 0;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
  receiver_ = std::make_unique<SignalReceiver>();
}

InterruptGuard::~InterruptGuard() {
  receiver_.reset();  // first: a signal still pending then meets this guard's handler
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

bool InterruptGuard::requested() const { return g_signal != 0; }
int InterruptGuard::signal() const { return int(g_signal); }

}  // namespace llada::train
