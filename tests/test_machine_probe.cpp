#include <catch2/catch.hpp>

#include <chrono>

#include "kernels/machine_probe.h"

using namespace sepnet::kernels;

TEST_CASE("machine probe: peak FLOPS is plausible and cached", "[machine_probe]") {
  double one = measure_peak_gflops(1);
  // Any x86-64 core since 2005 manages > 1 GFLOP/s; nothing single-core does 1 TFLOP/s FP32.
  CHECK(one > 1.0);
  CHECK(one < 1000.0);
  auto start = std::chrono::steady_clock::now();
  double again = measure_peak_gflops(1);
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(again == one);
  CHECK(elapsed < 0.01);
  double two = measure_peak_gflops(2);
  CHECK(two > 0.5 * one);  // may not scale on a shared machine, but must not collapse
}

TEST_CASE("machine probe: memory bandwidth is plausible and cached", "[machine_probe]") {
  double one = measure_memory_bandwidth_gbs(1);
  CHECK(one > 0.5);
  CHECK(one < 2000.0);
  CHECK(measure_memory_bandwidth_gbs(1) == one);
  CHECK(measure_memory_bandwidth_gbs(0) == one);  // non-positive thread counts mean 1
}
