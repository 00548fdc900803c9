// An in-process Collective for tests: N ranks as threads of one process, summing by the same
// pairwise butterfly as the MPI world (each level: copy the partner's partial sum, then add), so a
// test can compare one process with several ranks without mpirun.
#pragma once
#include <barrier>
#include <memory>
#include <vector>

#include "core/sys.h"
#include "train/collective.h"

namespace llada::train::testing {

class ThreadWorld {
 public:
  explicit ThreadWorld(int n) : n_(n), sync_(n), data_(size_t(n)), scalar_(size_t(n)), flags_(size_t(n)) {}

  class Rank : public Collective {
   public:
    Rank(ThreadWorld* w, int r) : w_(w), r_(r) {}
    int rank() const override { return r_; }
    int size() const override { return w_->n_; }
    void sum(float* data, size_t n, double* scalar) override {
      const double t0 = now_seconds();
      std::vector<float> scratch(n);
      for (int level = 1; level < w_->n_; level <<= 1) {
        w_->data_[size_t(r_)] = data;
        w_->scalar_[size_t(r_)] = *scalar;
        w_->sync_.arrive_and_wait();
        const int partner = r_ ^ level;
        const float* p = w_->data_[size_t(partner)];
        for (size_t i = 0; i < n; ++i) scratch[i] = p[i];
        const double ps = w_->scalar_[size_t(partner)];
        w_->sync_.arrive_and_wait();  // everyone has read before anyone adds in place
        for (size_t i = 0; i < n; ++i) data[i] += scratch[i];
        *scalar += ps;
      }
      seconds_ += now_seconds() - t0;
    }
    bool any(bool flag) override {
      w_->flags_[size_t(r_)] = flag;
      w_->sync_.arrive_and_wait();
      bool out = false;
      for (int i = 0; i < w_->n_; ++i) out = out || w_->flags_[size_t(i)];
      w_->sync_.arrive_and_wait();
      return out;
    }
    double seconds_in_sum() const override { return seconds_; }

   private:
    ThreadWorld* w_;
    int r_;
    double seconds_ = 0;
  };

  Rank rank(int r) { return Rank(this, r); }

 private:
  int n_;
  std::barrier<> sync_;
  std::vector<const float*> data_;
  std::vector<double> scalar_;
  std::vector<char> flags_;
};

}  // namespace llada::train::testing
