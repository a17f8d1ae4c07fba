// The per-level roofline (kernels/roofline.h): which level holds a working set, the roof and the
// percent of it, and the `--profile` table built on it. Synthetic machines only: nothing here
// depends on timing.
#include <catch2/catch.hpp>

#include <string>

#include "sepnet/core/profiler.h"
#include "sepnet/kernels/roofline.h"

using namespace sepnet;
using kernels::MemoryLevel;

namespace {
constexpr long kKiB = 1024, kMiB = 1024 * 1024;

kernels::RooflineMachine synthetic_machine(int threads) {
  kernels::RooflineMachine m;
  m.threads = threads;
  m.peak_gflops = 100;
  m.bandwidth_gbs = {400, 200, 100, 10};  // L1, L2, L3, DRAM
  m.caches = {32 * kKiB, 512 * kKiB, 32 * kMiB};
  return m;
}
}  // namespace

TEST_CASE("roofline: the smallest level holding the working set, private L1/L2 per thread", "[roofline]") {
  const kernels::CacheSizes caches{32 * kKiB, 512 * kKiB, 32 * kMiB};
  CHECK(kernels::level_holding(1, 1, caches) == MemoryLevel::l1);
  CHECK(kernels::level_holding(32 * kKiB, 1, caches) == MemoryLevel::l1);  // a level holds its own size
  CHECK(kernels::level_holding(32 * kKiB + 1, 1, caches) == MemoryLevel::l2);
  CHECK(kernels::level_holding(512 * kKiB, 1, caches) == MemoryLevel::l2);
  CHECK(kernels::level_holding(512 * kKiB + 1, 1, caches) == MemoryLevel::l3);
  CHECK(kernels::level_holding(32 * kMiB, 1, caches) == MemoryLevel::l3);
  CHECK(kernels::level_holding(32 * kMiB + 1, 1, caches) == MemoryLevel::dram);
  // Two threads hold twice the private levels, but share one L3.
  CHECK(kernels::level_holding(64 * kKiB, 2, caches) == MemoryLevel::l1);
  CHECK(kernels::level_holding(64 * kKiB + 1, 2, caches) == MemoryLevel::l2);
  CHECK(kernels::level_holding(1 * kMiB, 2, caches) == MemoryLevel::l2);
  CHECK(kernels::level_holding(1 * kMiB + 1, 2, caches) == MemoryLevel::l3);
  CHECK(kernels::level_holding(32 * kMiB + 1, 2, caches) == MemoryLevel::dram);
  CHECK(kernels::level_holding(40 * kKiB, 0, caches) == MemoryLevel::l2);  // non-positive thread counts mean 1

  CHECK(std::string(kernels::level_name(MemoryLevel::l1)) == "L1");
  CHECK(std::string(kernels::level_name(MemoryLevel::dram)) == "DRAM");
}

TEST_CASE("roofline: roof is min(peak, FLOPs/byte × bandwidth of the holding level)", "[roofline]") {
  const auto m = synthetic_machine(1);

  // 1 flop/byte in L2 (200 KB): roof 200 GFLOP/s > peak: compute bound at 100; 50 GFLOP/s is 50 %.
  auto p = kernels::place_on_roofline(m, 2e5, 2e5, 2e5 / 50e9);
  CHECK(p.level == MemoryLevel::l2);
  CHECK(p.compute_bound);
  CHECK(p.bound() == "compute");
  CHECK(p.roof == Approx(100));
  CHECK(p.percent == Approx(50));

  // The same intensity from DRAM (200 MB): roof 10 GFLOP/s; 8 GFLOP/s is 80 %.
  p = kernels::place_on_roofline(m, 2e8, 2e8, 2e8 / 8e9);
  CHECK(p.level == MemoryLevel::dram);
  CHECK_FALSE(p.compute_bound);
  CHECK(p.bound() == "DRAM bw");
  CHECK(p.roof == Approx(10));
  CHECK(p.percent == Approx(80));

  // 0.125 flop/byte in L1 (16 KB): roof 50 GFLOP/s; 25 GFLOP/s is 50 %. Against DRAM's roof
  // (1.25) the same call would read 2000 %: the report this replaces.
  p = kernels::place_on_roofline(m, 2e3, 16e3, 2e3 / 25e9);
  CHECK(p.level == MemoryLevel::l1);
  CHECK(p.bound() == "L1 bw");
  CHECK(p.roof == Approx(50));
  CHECK(p.percent == Approx(50));

  // No flops (im2col, copies): the roof is the level's bandwidth, the percent is GB/s of it.
  p = kernels::place_on_roofline(m, 0, 1e6, 1e6 / 50e9);  // 1 MB: L3, 50 GB/s of 100
  CHECK(p.level == MemoryLevel::l3);
  CHECK(p.bound() == "L3 bw");
  CHECK(p.roof == Approx(100));
  CHECK(p.percent == Approx(50));

  // A second thread doubles the private capacity: 40 KB moves from L2 to L1.
  CHECK(kernels::place_on_roofline(m, 0, 40e3, 1).level == MemoryLevel::l2);
  CHECK(kernels::place_on_roofline(synthetic_machine(2), 0, 40e3, 1).level == MemoryLevel::l1);
}

TEST_CASE("profiler: the --profile table places each layer's calls on the per-level roofline", "[roofline][profiler]") {
  profiler::reset();
  profiler::set_enabled(true);
  int conv = -1, relu = -1;
  {
    profiler::Scope scope("conv", "Conv2d");
    conv = scope.id();
  }
  {
    profiler::Scope scope("relu", "ReLU");
    relu = scope.id();
  }
  profiler::set_enabled(false);
  // Two calls of a conv: 1e5 MACs (2e5 flops) over 16 KB each, 4 µs each: 50 GFLOP/s against
  // an L1 roof of 12.5 flop/byte × 400 GB/s > peak: compute bound, 50 %. Backward 2× the work
  // in 16 µs per call: 25 GFLOP/s, 25 %.
  profiler::add_forward(conv, 4e-6, 100000, 16000);
  profiler::add_forward(conv, 4e-6, 100000, 16000);
  profiler::add_backward(conv, 32e-6);
  // One ReLU call over 2 MB (L3 at 1 thread), 40 µs: 50 GB/s of L3's 100.
  profiler::add_forward(relu, 40e-6, 0, 2000000);
  const std::string table = profiler::report_markdown(profiler::snapshot(), 1, synthetic_machine(1));
  profiler::reset();

  CHECK(table.find("L1 400.0, L2 200.0, L3 100.0, DRAM 10.0 GB/s") != std::string::npos);
  CHECK(table.find("| forward bound | forward % roofline | backward bound | backward % roofline |") != std::string::npos);
  INFO(table);
  CHECK(table.find("| conv | Conv2d | 0.008 | 0.032 |") != std::string::npos);
  CHECK(table.find("| compute | 50.0 | compute | 25.0 |") != std::string::npos);
  // ReLU backward recorded no time: dashes, not a division by zero.
  CHECK(table.find("| relu | ReLU | 0.040 | 0.000 |") != std::string::npos);
  CHECK(table.find("| L3 bw | 50.0 | - | - |") != std::string::npos);
}
