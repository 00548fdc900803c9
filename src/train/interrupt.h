// Ctrl-C and SIGTERM during training: the first asks the trainer to write a checkpoint and exit
// cleanly after the current step; a second one exits at once (status 130). Handlers are installed
// for the guard's lifetime and the previous ones restored after.
#pragma once

namespace llada::train {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;
  bool requested() const;
  int signal() const;  // the signal that asked (0 when none)
};

}  // namespace llada::train
