#include "sepnet/kernels/roofline.h"

#include <algorithm>

namespace sepnet::kernels {

const char* level_name(MemoryLevel level) {
  switch (level) {
    case MemoryLevel::l1: return "L1";
    case MemoryLevel::l2: return "L2";
    case MemoryLevel::l3: return "L3";
    case MemoryLevel::dram: return "DRAM";
  }
  return "DRAM";
}

MemoryLevel level_holding(double working_set_bytes, int threads, const CacheSizes& caches) {
  const double t = std::max(threads, 1);
  if (working_set_bytes <= t * static_cast<double>(caches.l1d)) return MemoryLevel::l1;
  if (working_set_bytes <= t * static_cast<double>(caches.l2)) return MemoryLevel::l2;
  if (working_set_bytes <= static_cast<double>(caches.l3)) return MemoryLevel::l3;
  return MemoryLevel::dram;
}

double RooflineMachine::bandwidth_of(MemoryLevel level) const {
  switch (level) {
    case MemoryLevel::l1: return bandwidth_gbs.l1;
    case MemoryLevel::l2: return bandwidth_gbs.l2;
    case MemoryLevel::l3: return bandwidth_gbs.l3;
    case MemoryLevel::dram: return bandwidth_gbs.dram;
  }
  return bandwidth_gbs.dram;
}

RooflineMachine measure_roofline_machine(int threads) {
  RooflineMachine m;
  m.threads = std::max(threads, 1);
  m.peak_gflops = measure_peak_gflops(m.threads);
  m.bandwidth_gbs = measure_level_bandwidths_gbs(m.threads);
  m.caches = cache_sizes();
  return m;
}

std::string RooflinePoint::bound() const {
  return compute_bound ? "compute" : std::string(level_name(level)) + " bw";
}

RooflinePoint place_on_roofline(const RooflineMachine& machine, double flops, double bytes, double seconds) {
  RooflinePoint p;
  p.level = level_holding(bytes, machine.threads, machine.caches);
  const double bandwidth = machine.bandwidth_of(p.level);
  if (flops > 0) {
    const double memory_roof = bytes > 0 ? bandwidth * flops / bytes : machine.peak_gflops;
    p.compute_bound = machine.peak_gflops <= memory_roof;
    p.roof = std::min(machine.peak_gflops, memory_roof);
    const double achieved = seconds > 0 ? flops / seconds * 1e-9 : 0.0;
    p.percent = p.roof > 0 ? achieved / p.roof * 100.0 : 0.0;
  } else {
    // Zero arithmetic intensity: the roof is the bandwidth itself (the limit of the formula above).
    p.roof = bandwidth;
    const double achieved = seconds > 0 ? bytes / seconds * 1e-9 : 0.0;
    p.percent = p.roof > 0 ? achieved / p.roof * 100.0 : 0.0;
  }
  return p;
}

}  // namespace sepnet::kernels
