#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/machine_probe.h"

using namespace sepnet::kernels;

TEST_CASE("machine probe: peak FLOPS is plausible and cached", "[machine_probe]") {
  double one = measure_peak_gflops(1);
  // Loose bounds: unoptimized sanitizer builds run the loop far below peak; nothing
  // single-core does 1 TFLOP/s FP32.
  CHECK(one > 0.01);
  CHECK(one < 1000.0);
  // Cached: a second measurement would differ in the last digits.
  CHECK(measure_peak_gflops(1) == one);
  double two = measure_peak_gflops(2);
  CHECK(two > 0.0);  // scaling is not checked: the machine may be shared
}

TEST_CASE("machine probe: memory bandwidth is plausible and cached", "[machine_probe]") {
  double one = measure_memory_bandwidth_gbs(1);
  CHECK(one > 0.05);
  CHECK(one < 2000.0);
  CHECK(measure_memory_bandwidth_gbs(1) == one);
  CHECK(measure_memory_bandwidth_gbs(0) == one);  // non-positive thread counts mean 1
}

TEST_CASE("machine probe: per-level bandwidths are positive, ordered and cached", "[machine_probe]") {
  const LevelBandwidths bw = measure_level_bandwidths_gbs(1);
  CHECK(bw.dram == measure_memory_bandwidth_gbs(1));  // DRAM is the STREAM probe's figure
  CHECK(bw.dram > 0.05);
  // Ordered by construction (a level never reports less than the levels behind it)...
  CHECK(bw.l3 >= bw.dram);
  CHECK(bw.l2 >= bw.l3);
  CHECK(bw.l1 >= bw.l2);
  // ...and bounded: nothing moves 10 TB/s per core, sanitizer builds included.
  CHECK(bw.l1 < 10000.0);
  const LevelBandwidths again = measure_level_bandwidths_gbs(1);
  CHECK(again.l1 == bw.l1);
  CHECK(again.l2 == bw.l2);
  CHECK(again.l3 == bw.l3);
}

TEST_CASE("machine probe variants: each triad computes a = b + s·c, tail included", "[machine_probe][dispatch]") {
  for (const auto& row : machine_probe_variants()) {
    if (!isa_supported(row.isa)) continue;
    INFO(row.name);
    for (long n : {1L, 15L, 16L, 37L, 100L}) {
      INFO("n = " << n);
      std::vector<float> a(static_cast<size_t>(n) + 1, -7.0f), b(static_cast<size_t>(n)), c(static_cast<size_t>(n));
      for (long i = 0; i < n; ++i) {
        b[static_cast<size_t>(i)] = static_cast<float>(i);
        c[static_cast<size_t>(i)] = static_cast<float>(3 - i);
      }
      row.entry->triad(a.data(), b.data(), c.data(), 0.5f, n);
      // Small integers and halves: exact with or without a fused multiply-add.
      for (long i = 0; i < n; ++i) CHECK(a[static_cast<size_t>(i)] == static_cast<float>(i) + 0.5f * static_cast<float>(3 - i));
      CHECK(a[static_cast<size_t>(n)] == -7.0f);  // nothing written past n
    }
  }
}

TEST_CASE("machine probe variants: one FMA loop per ISA, each counting its flops", "[machine_probe][dispatch]") {
  const auto table = machine_probe_variants();
  REQUIRE(table.size() == 3);
  for (size_t i = 0; i < table.size(); ++i) {
    CHECK(static_cast<size_t>(table[i].isa) == i);
    if (!isa_supported(table[i].isa)) continue;
    INFO(table[i].name);
    float sink = 0.0f;
    const double flops = table[i].entry->fma_loop(1000, &sink);
    CHECK(flops > 0.0);
    CHECK(std::fmod(flops, 2000.0) == 0.0);  // 2 flops per FMA lane, every one of the 1000 iterations
    CHECK(std::isfinite(sink));
  }
}
