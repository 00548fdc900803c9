// Exceptions cannot leave an OpenMP region: one escaping a worker thread terminates the process.
// A region whose body can throw (a library check, an allocation, oneDNN) runs each iteration
// through ParallelErrors::run and calls rethrow() after the region: the first error then reaches
// the caller as an ordinary exception.
#pragma once
#include <exception>
#include <mutex>

namespace llada {

class ParallelErrors {
 public:
  template <class F>
  void run(F&& body) noexcept {
    try {
      body();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!first_) first_ = std::current_exception();
    }
  }
  void rethrow() {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  std::mutex mu_;
  std::exception_ptr first_;
};

}  // namespace llada
