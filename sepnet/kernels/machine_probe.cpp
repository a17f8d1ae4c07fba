#include "sepnet/kernels/machine_probe.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

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
  constexpr long kIterations = 2'000'000;  // ~10-20 ms per trial on a 3+ GHz core
  constexpr int kTrials = 5;
  // Untimed warm-up, long enough (~8 trials) for the OS to move a freshly woken second thread
  // off the first one's core: Linux first places it there, and 4 ms trials right after a
  // 1-thread probe measured 2 threads at 1 core's peak (258 vs 520 GFLOP/s, Zen 4/5).
  {
    float sink = 0.0f;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    {
      float local = 0.0f;
      run_fma_loop(8 * kIterations, &local);
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
  constexpr int kTrials = 4;
  std::unique_ptr<float[]> a(new float[kElements]), b(new float[kElements]), c(new float[kElements]);
  float* pa = a.get();
  float* pb = b.get();
  float* pc = c.get();
  // First touch by the same static schedule as the timed loop (NUMA placement).
#pragma omp parallel for schedule(static) num_threads(threads)
  for (long i = 0; i < kElements; ++i) {
    pa[i] = 0.0f;
    pb[i] = 1.0f;
    pc[i] = 2.0f;
  }
  const float scalar = 0.5f;
  double best = 0.0;
  for (int trial = 0; trial < kTrials; ++trial) {
    auto start = Clock::now();
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < kElements; ++i) pa[i] = pb[i] + scalar * pc[i];
    double elapsed = seconds_since(start);
    best = std::max(best, 3.0 * sizeof(float) * kElements / elapsed * 1e-9);
  }
  if (pa[kElements / 2] != 2.0f) std::abort();  // 1 + 0.5·2: keeps the stores observable
  return best;
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

}  // namespace sepnet::kernels
