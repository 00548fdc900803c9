// Learning-rate schedules as pure functions of the step (0-based), so a resumed run needs no
// schedule state.
//   constant  warm-up then peak.
//   cosine    (SMDM small-scale recipe) linear warm-up to peak, cosine decay to min_lr at total_steps.
//   wsd       (LLaDA pre-training) Warmup-Stable-Decay: linear warm-up to peak, hold peak until
//             drop_frac of the run, then hold drop_lr until decay_frac, then decay linearly to min_lr at
//             the end. LLaDA: 2000 warm-up steps to 4e-4, 4e-4 for 1.2T of 2.3T tokens (0.522), 1e-4
//             until 2.0T (0.870), then linear to 1e-5.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace llada::train {

struct Schedule {
  std::string kind = "cosine";  // constant | cosine | wsd
  double peak_lr = 2e-4;
  int64_t warmup_steps = -1;    // -1: max(1% of total, 100) capped at total/2 (SMDM)
  int64_t total_steps = 0;
  double min_lr = -1;           // -1: cosine peak/10 (SMDM 2e-4 -> 2e-5); wsd peak/40 (4e-4 -> 1e-5)
  double drop_frac = 1.2 / 2.3;
  double drop_lr = -1;          // -1: peak/4 (4e-4 -> 1e-4)
  double decay_frac = 2.0 / 2.3;

  double lr(int64_t step) const;
  int64_t warmup() const;       // the resolved warm-up length
  void validate() const;        // throws naming the field
  static Schedule from_json(const nlohmann::json& j, const std::string& source);
  nlohmann::json to_json() const;
};

}  // namespace llada::train
