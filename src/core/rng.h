// Deterministic random numbers: xoshiro256** seeded through splitmix64. Every stochastic choice in
// the project (init, masking, sampling) draws from an Rng built from a user seed, so a seed reproduces
// a run exactly on any machine. State is four words so it can be saved in checkpoints.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

namespace llada {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { this->seed(seed); }
  void seed(uint64_t seed) {
    uint64_t z = seed;
    for (auto& w : s_) w = splitmix64(z);
  }
  uint64_t next_u64() {
    uint64_t result = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0]; s_[3] ^= s_[1]; s_[1] ^= s_[2]; s_[0] ^= s_[3]; s_[2] ^= t; s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1): safe for log().
  double uniform_open() { return (double(next_u64() >> 11) + 0.5) * 0x1.0p-53; }
  // Uniform integer in [0, n) without modulo bias (Lemire's method).
  uint64_t below(uint64_t n) {
    __uint128_t m = __uint128_t(next_u64()) * n;
    uint64_t l = uint64_t(m);
    if (l < n) {
      uint64_t t = -n % n;
      while (l < t) { m = __uint128_t(next_u64()) * n; l = uint64_t(m); }
    }
    return uint64_t(m >> 64);
  }
  // Standard normal (Box-Muller, one value per call for simplicity).
  double normal() {
    double u1 = uniform_open(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // A child stream: independent sequence derived from this one (for per-thread or per-row draws).
  Rng fork() { return Rng(next_u64()); }

  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& z) {
    uint64_t r = (z += 0x9e3779b97f4a7c15ull);
    r = (r ^ (r >> 30)) * 0xbf58476d1ce4e5b9ull;
    r = (r ^ (r >> 27)) * 0x94d049bb133111ebull;
    return r ^ (r >> 31);
  }
  std::array<uint64_t, 4> s_{};
};

}  // namespace llada
