#include <catch2/catch.hpp>

#include <cmath>

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
