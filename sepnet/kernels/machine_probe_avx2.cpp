// AVX2+FMA peak loop: 12 independent 8-wide accumulators cover 2 FMA pipes × 4-5 cycle latency;
// the triad in 8-wide loads and stores.
#include <immintrin.h>

#include "sepnet/kernels/machine_probe_internal.h"

namespace sepnet::kernels {

namespace {
double fma_loop_avx2(long iterations, float* sink) {
  constexpr int kAcc = 12;
  __m256 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm256_set1_ps(0.001f * static_cast<float>(i));
  // Multiplier just below 1 and a small addend keep values finite and non-denormal.
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  }
  __m256 total = acc[0];
  for (int i = 1; i < kAcc; ++i) total = _mm256_add_ps(total, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, total);
  *sink += lanes[0] + lanes[7];
  return 2.0 * 8 * kAcc * static_cast<double>(iterations);
}

void triad_avx2(float* a, const float* b, const float* c, float s, long n) {
  const __m256 scale = _mm256_set1_ps(s);
  long i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(a + i, _mm256_fmadd_ps(scale, _mm256_loadu_ps(c + i), _mm256_loadu_ps(b + i)));
  for (; i < n; ++i) a[i] = b[i] + s * c[i];
}

}  // namespace

constexpr MachineProbeEntry kProbeAvx2{fma_loop_avx2, triad_avx2};

}  // namespace sepnet::kernels
