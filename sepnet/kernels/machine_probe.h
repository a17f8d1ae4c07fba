// Machine probes for roofline numbers: measured (not nominal) FP32 FMA peak and streaming
// bandwidth of each memory level (L1d, L2, L3, DRAM) of this machine, for a given number of
// OpenMP threads. Benchmarks use them to report "% of roofline" (kernels/roofline.h). Each
// measurement takes ~0.1-0.5 s the first time; results are cached per thread count
// (thread-safe), so repeated calls are free.
#pragma once
#include "sepnet/kernels/dispatch.h"

namespace sepnet::kernels {

// Best-of-a-few-trials FP32 throughput in GFLOP/s (an FMA counts as 2 flops) of `threads`
// OpenMP threads each running an FMA loop with enough independent accumulators to saturate
// the FMA pipes, on the best ISA path this CPU supports (ignores SEPNET_ISA / ScopedIsa).
double measure_peak_gflops(int threads);

// STREAM-triad bandwidth in GB/s (1e9 bytes/s; counts the bytes of a[i] = b[i] + s·c[i]:
// two loads and one store per element, write-allocate not counted) over arrays far larger
// than the last-level cache, with `threads` OpenMP threads; the best 12 MiB block of a few
// passes.
double measure_memory_bandwidth_gbs(int threads);

// Triad bandwidth (GB/s, counted as above) of each memory level, all `threads` together. Each
// thread repeats the triad over its own three arrays, which together fill half of the level's
// per-thread share: ½ L1d, ½ L2 (private per core), ½ L3 / threads (shared); DRAM is
// measure_memory_bandwidth_gbs. Non-increasing from L1 to DRAM: a level that measured slower
// than a larger one (noise on a shared machine) reports the larger one's bandwidth, since data
// in a level is never further away than in the levels behind it.
struct LevelBandwidths {
  double l1 = 0, l2 = 0, l3 = 0, dram = 0;
};
LevelBandwidths measure_level_bandwidths_gbs(int threads);

// ---- variants (kernels/dispatch.h) ----------------------------------------------------------
// The FMA loop of one ISA (machine_probe_{scalar,avx2,avx512}.cpp): `iterations` rounds of FMAs
// on independent accumulators on the calling thread; returns the floating-point operations done
// (2 per FMA lane). The sink keeps the work observable so the compiler cannot drop it.
// The triad of one ISA: a[i] = b[i] + s·c[i] for i < n, on the calling thread, with the widest
// loads and stores the ISA has (the level probes measure the caches, not the instruction mix).
struct MachineProbeEntry {
  double (*fma_loop)(long iterations, float* sink);
  void (*triad)(float* a, const float* b, const float* c, float s, long n);
};
// One row per ISA; the probes run the row of best_supported_isa() (no shape rule).
VariantTable<MachineProbeEntry> machine_probe_variants();

}  // namespace sepnet::kernels
