#include <catch2/catch.hpp>

#include <chrono>

#include "sepnet/kernels/machine_probe.h"

using namespace sepnet::kernels;

TEST_CASE("machine probe: peak FLOPS is plausible and cached", "[machine_probe]") {
  double one = measure_peak_gflops(1);
  // Loose bounds: unoptimized sanitizer builds run the loop far below peak; nothing
  // single-core does 1 TFLOP/s FP32.
  CHECK(one > 0.01);
  CHECK(one < 1000.0);
  auto start = std::chrono::steady_clock::now();
  double again = measure_peak_gflops(1);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(again == one);
  CHECK(elapsed < 0.01);
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
