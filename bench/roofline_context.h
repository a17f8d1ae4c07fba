// Records the machine's measured peak FLOP/s and memory bandwidth (1 and 2 threads) in the
// benchmark output's context, probed before any timing so probes never run inside a measurement.
#pragma once
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "sepnet/kernels/machine_probe.h"

namespace sepnet::bench {

inline void add_roofline_context() {
  for (int threads : {1, 2}) {
    char value[64];
    std::snprintf(value, sizeof value, "%.1f GFLOP/s, %.1f GB/s", kernels::measure_peak_gflops(threads),
                  kernels::measure_memory_bandwidth_gbs(threads));
    benchmark::AddCustomContext("roofline_threads_" + std::to_string(threads), value);
  }
}

// The FLOPS counter (2·MACs per second) and pct_peak (of the measured FMA peak of `threads`),
// for `flops` floating-point operations per iteration.
inline void set_flop_counters(benchmark::State& state, double flops, int threads) {
  const double peak = kernels::measure_peak_gflops(threads) * 1e9;
  using benchmark::Counter;
  state.counters["FLOPS"] = Counter(flops, Counter::kIsIterationInvariantRate);
  state.counters["pct_peak"] = Counter(flops / peak * 100.0, Counter::kIsIterationInvariantRate);
}

// main() of a benchmark program whose cases registered themselves: the roofline context first
// (its probes must not run inside a measurement), then the benchmarks.
inline int run_benchmarks(int argc, char** argv) {
  add_roofline_context();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace sepnet::bench
