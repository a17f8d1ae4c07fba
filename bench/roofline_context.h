// Records the machine's measured peak FLOP/s and memory bandwidth (1 and 2 threads) in the
// benchmark output's context, probed before any timing so probes never run inside a measurement.
#pragma once
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "kernels/machine_probe.h"

namespace sepnet::bench {

inline void add_roofline_context() {
  for (int threads : {1, 2}) {
    char value[64];
    std::snprintf(value, sizeof value, "%.1f GFLOP/s, %.1f GB/s", kernels::measure_peak_gflops(threads),
                  kernels::measure_memory_bandwidth_gbs(threads));
    benchmark::AddCustomContext("roofline_threads_" + std::to_string(threads), value);
  }
}

}  // namespace sepnet::bench
