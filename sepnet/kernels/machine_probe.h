// Machine probes for roofline numbers: measured (not nominal) FP32 FMA peak and streaming
// memory bandwidth of this machine, for a given number of OpenMP threads. Benchmarks use them
// to report "% of roofline". Each measurement takes ~0.1-0.2 s the first time; results are
// cached per thread count (thread-safe), so repeated calls are free.
#pragma once
#include "sepnet/kernels/dispatch.h"

namespace sepnet::kernels {

// Best-of-a-few-trials FP32 throughput in GFLOP/s (an FMA counts as 2 flops) of `threads`
// OpenMP threads each running an FMA loop with enough independent accumulators to saturate
// the FMA pipes, on the best ISA path this CPU supports (ignores SEPNET_ISA / ScopedIsa).
double measure_peak_gflops(int threads);

// Best-of-a-few-trials STREAM-triad bandwidth in GB/s (1e9 bytes/s; counts the bytes of
// a[i] = b[i] + s·c[i]: two loads and one store per element, write-allocate not counted)
// over arrays far larger than the last-level cache, with `threads` OpenMP threads.
double measure_memory_bandwidth_gbs(int threads);

// ---- variants (kernels/dispatch.h) ----------------------------------------------------------
// The FMA loop of one ISA (machine_probe_{scalar,avx2,avx512}.cpp): `iterations` rounds of FMAs
// on independent accumulators on the calling thread; returns the floating-point operations done
// (2 per FMA lane). The sink keeps the work observable so the compiler cannot drop it.
struct MachineProbeEntry {
  double (*fma_loop)(long iterations, float* sink);
};
// One row per ISA; the probe runs the row of best_supported_isa() (no shape rule).
VariantTable<MachineProbeEntry> machine_probe_variants();

}  // namespace sepnet::kernels
