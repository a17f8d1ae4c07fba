#include "sepnet/kernels/machine_probe.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "sepnet/kernels/cache_info.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/machine_probe_internal.h"

namespace sepnet::kernels {

namespace {
constexpr Variant<MachineProbeEntry> kVariants[] = {
    {Isa::scalar, "scalar", &kProbeScalar},
    {Isa::avx2, "avx2", &kProbeAvx2},
    {Isa::avx512, "avx512", &kProbeAvx512},
};
static_assert(one_row_per_isa(kVariants));
}  // namespace

VariantTable<MachineProbeEntry> machine_probe_variants() { return kVariants; }

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The best ISA this CPU supports, whatever path the kernels are forced to.
double run_fma_loop(long iterations, float* sink) {
  return variant_for(kVariants, best_supported_isa()).entry->fma_loop(iterations, sink);
}

double peak_gflops_uncached(int threads) {
  // ~1-2 ms per trial on a 3+ GHz core, the best of many: on a busy machine a 10-20 ms trial
  // nearly always includes a context switch, and a peak measured low puts compute-bound kernels
  // above 100 % of the roofline.
  constexpr long kIterations = 200'000;
  constexpr long kWarmupIterations = 16'000'000;
  constexpr int kTrials = 20;
  // Untimed warm-up, long enough (~20-40 ms) for the OS to move a freshly woken second thread
  // off the first one's core: Linux first places it there, and 4 ms trials right after a
  // 1-thread probe measured 2 threads at 1 core's peak (258 vs 520 GFLOP/s, Zen 4/5).
  {
    float sink = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      float local = 0.0f;
      run_fma_loop(kWarmupIterations, &local);
      sink += local;
    }
    if (sink == 12345.0f) std::abort();
  }
  double best = 0.0;
  for (int trial = 0; trial < kTrials; ++trial) {
    double flops = 0.0;
    float sink = 0.0f;
    auto start = Clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : flops, sink)
    {
      float local = 0.0f;
      flops += run_fma_loop(kIterations, &local);
      sink += local;
    }
    double elapsed = seconds_since(start);
    if (sink == 12345.0f) std::abort();  // never true; keeps the loops' results alive
    best = std::max(best, flops / elapsed * 1e-9);
  }
  return best;
}

double bandwidth_gbs_uncached(int threads) {
  // 3 arrays × 16 Mi floats = 192 MiB: several times any current LLC.
  constexpr long kElements = 16L << 20;
  // Timed per block of 1 Mi elements (12 MiB, ~1 ms at DRAM speed), the best block of all
  // passes: a whole 50 ms pass on a busy machine nearly always includes a context switch. A
  // block was last touched a whole pass (180 MiB) ago, so it streams from DRAM.
  constexpr long kBlock = 1L << 20;
  constexpr int kPasses = 3;
  std::unique_ptr<float[]> a(new float[kElements]), b(new float[kElements]), c(new float[kElements]);
  float* pa = a.get();
  float* pb = b.get();
  float* pc = c.get();
  const float scalar = 0.5f;
  double best = 0.0;
  Clock::time_point start;
#pragma omp parallel num_threads(threads)
  {
    // First touch by the same schedule as the timed loop (NUMA placement).
    for (long block = 0; block < kElements; block += kBlock) {
#pragma omp for schedule(static)
      for (long i = block; i < block + kBlock; ++i) {
        pa[i] = 0.0f;
        pb[i] = 1.0f;
        pc[i] = 2.0f;
      }
    }
    for (int pass = 0; pass < kPasses; ++pass) {
      for (long block = 0; block < kElements; block += kBlock) {
#pragma omp single
        start = Clock::now();
#pragma omp for schedule(static)
        for (long i = block; i < block + kBlock; ++i) pa[i] = pb[i] + scalar * pc[i];
#pragma omp master
        best = std::max(best, 3.0 * sizeof(float) * kBlock / seconds_since(start) * 1e-9);
#pragma omp barrier
      }
    }
  }
  if (pa[kElements / 2] != 2.0f) std::abort();  // 1 + 0.5·2: keeps the stores observable
  return best;
}

// Triad bandwidth of `threads` threads, each repeating a[i] = b[i] + s·c[i] over its own three
// arrays that together take `set_bytes`; the best of kTrials trials. Buffers are allocated and
// first touched by the thread that uses them, outside the timed passes; threads meet at
// barriers inside one parallel region, so no fork/join lands in a timed trial.
double resident_triad_gbs(int threads, long set_bytes) {
  constexpr long kLane = 16;  // floats per 64-byte line
  const long elements = std::max(kLane, set_bytes / 12 / kLane * kLane);
  // ~32 MiB per thread per trial (0.1-1 ms from L1..L3): short enough that some trials run
  // without a context switch on a busy machine, long against barrier skew; the best of many.
  const long passes = std::max(1L, (32L << 20) / (12 * elements));
  constexpr int kTrials = 20;
  const auto triad = variant_for(kVariants, best_supported_isa()).entry->triad;
  // An extra line between the arrays: page-multiple arrays back to back would put a[i], b[i]
  // and c[i] at the same 4 KiB offset, and the stores would falsely alias the loads.
  const long stride = elements + kLane;
  double best = 0.0;
  Clock::time_point start;
  bool stores_seen = true;
#pragma omp parallel num_threads(threads) reduction(&& : stores_seen)
  {
    std::vector<float> buffer(static_cast<size_t>(3 * stride + kLane));
    float* base = buffer.data();
    base += (kLane - (reinterpret_cast<std::uintptr_t>(base) / sizeof(float)) % kLane) % kLane;
    float *a = base, *b = base + stride, *c = base + 2 * stride;
    for (long i = 0; i < elements; ++i) {
      a[i] = 0.0f;
      b[i] = 1.0f;
      c[i] = 2.0f;
    }
    for (int trial = -1; trial < kTrials; ++trial) {  // trial -1: untimed warm-up
#pragma omp barrier
#pragma omp single
      start = Clock::now();
      for (long p = 0; p < passes; ++p) triad(a, b, c, 0.5f, elements);
#pragma omp barrier
#pragma omp master
      {
        const double elapsed = seconds_since(start);
        if (trial >= 0) best = std::max(best, 12.0 * elements * passes * threads / elapsed * 1e-9);
      }
    }
    stores_seen = a[elements - 1] == 2.0f;  // 1 + 0.5·2: keeps the stores observable
  }
  if (!stores_seen) std::abort();
  return best;
}

LevelBandwidths level_bandwidths_uncached(int threads) {
  const CacheSizes& caches = cache_sizes();
  LevelBandwidths bw;
  bw.dram = measure_memory_bandwidth_gbs(threads);
  bw.l3 = std::max(bw.dram, resident_triad_gbs(threads, caches.l3 / 2 / threads));
  bw.l2 = std::max(bw.l3, resident_triad_gbs(threads, caches.l2 / 2));
  bw.l1 = std::max(bw.l2, resident_triad_gbs(threads, caches.l1d / 2));
  return bw;
}

template <class F>
double cached(std::map<int, double>& cache, std::mutex& mutex, int threads, F&& measure) {
  threads = std::max(threads, 1);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(threads);
  if (it != cache.end()) return it->second;
  double value = measure(threads);
  cache.emplace(threads, value);
  return value;
}

}  // namespace

double measure_peak_gflops(int threads) {
  static std::map<int, double> cache;
  static std::mutex mutex;
  return cached(cache, mutex, threads, peak_gflops_uncached);
}

double measure_memory_bandwidth_gbs(int threads) {
  static std::map<int, double> cache;
  static std::mutex mutex;
  return cached(cache, mutex, threads, bandwidth_gbs_uncached);
}

LevelBandwidths measure_level_bandwidths_gbs(int threads) {
  threads = std::max(threads, 1);
  static std::map<int, LevelBandwidths> cache;
  static std::mutex mutex;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(threads);
    if (it != cache.end()) return it->second;
  }
  // Measured outside the lock: measure_memory_bandwidth_gbs takes its own.
  const LevelBandwidths bw = level_bandwidths_uncached(threads);
  std::lock_guard<std::mutex> lock(mutex);
  return cache.emplace(threads, bw).first->second;
}

}  // namespace sepnet::kernels
