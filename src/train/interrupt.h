// Ctrl-C and SIGTERM during training: the first asks the trainer to write a checkpoint and exit
// cleanly after the current step; a second one exits at once (status 130). Handlers are installed
// for the guard's lifetime and the previous ones restored after; meanwhile the signals reach only a
// thread of their own (core/signal_receiver.h), never one that computes.
#pragma once
#include <memory>

#include "core/signal_receiver.h"

namespace llada::train {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool requested() const;
  int signal() const;  // the signal that asked (0 when none)

 private:
  std::unique_ptr<SignalReceiver> receiver_;
};

}  // namespace llada::train
