// Seeded random numbers with a fixed algorithm (SplitMix64 seeding + xoshiro256**), so the
// same seed gives the same initial weights and batch order on every platform and compiler.
#pragma once
#include <cstdint>
#include <vector>

namespace sepnet {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next_u64();
  float uniform(float low, float high);  // [low, high)
  float normal(float mean = 0.0f, float stddev = 1.0f);
  uint64_t below(uint64_t n);  // uniform in [0, n), unbiased
  void shuffle(std::vector<int32_t>& values);

 private:
  uint64_t s_[4];
};

}  // namespace sepnet
