// Roofline per memory level: a kernel call whose working set fits a level is bounded by that
// level's bandwidth, not DRAM's. The roof of a call doing `flops` over `bytes` is
//     min(peak FLOP/s, flops/bytes × bandwidth(level)),
// level = the smallest one holding the working set (`bytes`: inputs + outputs + weights).
// L1d and L2 are private, so `threads` threads hold threads × their size; L3 is shared.
// `sepnet bench` and `--profile` report "% roofline" against this roof and name its bound.
#pragma once
#include <string>

#include "sepnet/kernels/cache_info.h"
#include "sepnet/kernels/machine_probe.h"

namespace sepnet::kernels {

enum class MemoryLevel { l1, l2, l3, dram };
const char* level_name(MemoryLevel level);  // "L1", "L2", "L3", "DRAM"

// The smallest level whose capacity (for `threads` threads) holds `working_set_bytes`.
MemoryLevel level_holding(double working_set_bytes, int threads, const CacheSizes& caches);

// What the roofline is drawn from: measured peak and per-level bandwidths, the cache sizes.
struct RooflineMachine {
  int threads = 1;
  double peak_gflops = 0;
  LevelBandwidths bandwidth_gbs;
  CacheSizes caches{};
  double bandwidth_of(MemoryLevel level) const;
};
// Measures (once per thread count, cached by the probes) this machine's roofline.
RooflineMachine measure_roofline_machine(int threads);

// One call placed on the roofline.
struct RooflinePoint {
  MemoryLevel level = MemoryLevel::dram;  // the level holding the working set
  bool compute_bound = false;             // the roof is the peak, not level bandwidth × AI
  double roof = 0;    // GFLOP/s; GB/s for a call without flops (its roof is the bandwidth)
  double percent = 0; // achieved GFLOP/s (GB/s without flops) / roof × 100
  std::string bound() const;  // "compute" or e.g. "L2 bw"
};
RooflinePoint place_on_roofline(const RooflineMachine& machine, double flops, double bytes, double seconds);

}  // namespace sepnet::kernels
