// Machine probes for roofline numbers: measured (not nominal) FP32 FMA peak and streaming
// memory bandwidth of this machine, for a given number of OpenMP threads. Benchmarks use them
// to report "% of roofline". Each measurement takes ~0.1-0.2 s the first time; results are
// cached per thread count (thread-safe), so repeated calls are free.
#pragma once

namespace sepnet::kernels {

// Best-of-a-few-trials FP32 throughput in GFLOP/s (an FMA counts as 2 flops) of `threads`
// OpenMP threads each running an FMA loop with enough independent accumulators to saturate
// the FMA pipes, on the best ISA path this CPU supports (ignores SEPNET_ISA / ScopedIsa).
double measure_peak_gflops(int threads);

// Best-of-a-few-trials STREAM-triad bandwidth in GB/s (1e9 bytes/s; counts the bytes of
// a[i] = b[i] + s·c[i]: two loads and one store per element, write-allocate not counted)
// over arrays far larger than the last-level cache, with `threads` OpenMP threads.
double measure_memory_bandwidth_gbs(int threads);

}  // namespace sepnet::kernels
