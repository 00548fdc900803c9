#include "train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace llada::train {

int64_t Schedule::warmup() const {
  if (warmup_steps >= 0) return warmup_steps;
  return std::min(std::max<int64_t>(total_steps / 100, 100), total_steps / 2);
}

void Schedule::validate() const {
  LLADA_CHECK(kind == "constant" || kind == "cosine" || kind == "wsd",
              "schedule.kind: expected constant, cosine or wsd, found '%s'", kind.c_str());
  LLADA_CHECK(peak_lr > 0 && std::isfinite(peak_lr), "schedule.lr: must be > 0, found %g", peak_lr);
  LLADA_CHECK(total_steps > 0, "schedule: steps must be > 0, found %lld", (long long)total_steps);
  LLADA_CHECK(kind != "wsd" || (0 <= drop_frac && drop_frac <= decay_frac && decay_frac <= 1),
              "schedule: wsd needs 0 <= drop_frac (%g) <= decay_frac (%g) <= 1", drop_frac, decay_frac);
}

double Schedule::lr(int64_t step) const {
  const int64_t w = warmup();
  if (step < w) return peak_lr * double(step + 1) / double(w);
  if (kind == "constant") return peak_lr;
  const double T = double(total_steps);
  if (kind == "cosine") {
    const double lo = min_lr >= 0 ? min_lr : peak_lr / 10;
    const double span = std::max(1.0, T - double(w));
    const double x = std::min(1.0, double(step - w) / span);
    return lo + 0.5 * (peak_lr - lo) * (1.0 + std::cos(M_PI * x));
  }
  // wsd
  const double lo = min_lr >= 0 ? min_lr : peak_lr / 40;
  const double mid = drop_lr >= 0 ? drop_lr : peak_lr / 4;
  const double s = double(step);
  if (s < drop_frac * T) return peak_lr;
  if (s < decay_frac * T) return mid;
  const double span = std::max(1.0, T - decay_frac * T);
  const double x = std::min(1.0, (s - decay_frac * T) / span);
  return mid + (lo - mid) * x;
}

Schedule Schedule::from_json(const nlohmann::json& j, const std::string& source) {
  Schedule s;
  try {
    if (j.contains("kind")) s.kind = j.at("kind").get<std::string>();
    if (j.contains("lr")) s.peak_lr = j.at("lr").get<double>();
    if (j.contains("warmup_steps")) s.warmup_steps = j.at("warmup_steps").get<int64_t>();
    if (j.contains("min_lr")) s.min_lr = j.at("min_lr").get<double>();
    if (j.contains("drop_frac")) s.drop_frac = j.at("drop_frac").get<double>();
    if (j.contains("drop_lr")) s.drop_lr = j.at("drop_lr").get<double>();
    if (j.contains("decay_frac")) s.decay_frac = j.at("decay_frac").get<double>();
  } catch (const nlohmann::json::exception& e) {
    fail(strformat("%s: schedule: %s", source.c_str(), e.what()));
  }
  return s;
}

nlohmann::json Schedule::to_json() const {
  return {{"kind", kind},         {"lr", peak_lr},         {"warmup_steps", warmup_steps},
          {"min_lr", min_lr},     {"drop_frac", drop_frac}, {"drop_lr", drop_lr},
          {"decay_frac", decay_frac}};
}

}  // namespace llada::train
