// AVX-512 peak loop: 16 independent 16-wide accumulators (2 FMA ports × 4 cycle latency,
// with slack for cores that split 512-bit ops into two 256-bit halves); the triad in 16-wide
// loads and stores.
// GCC 12 reports the _mm256_undefined_pd() pass-through inside its own _mm512_reduce_add_ps as
// "used uninitialized" (GCC bug 105593, fixed in 13): silenced for this file.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "sepnet/kernels/machine_probe_internal.h"

namespace sepnet::kernels {

namespace {
double fma_loop_avx512(long iterations, float* sink) {
  constexpr int kAcc = 16;
  __m512 acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_set1_ps(0.001f * static_cast<float>(i));
  const __m512 mul = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-6f);
  for (long it = 0; it < iterations; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kAcc; ++i) acc[i] = _mm512_fmadd_ps(acc[i], mul, add);
  }
  __m512 total = acc[0];
  for (int i = 1; i < kAcc; ++i) total = _mm512_add_ps(total, acc[i]);
  *sink += _mm512_reduce_add_ps(total);
  return 2.0 * 16 * kAcc * static_cast<double>(iterations);
}

void triad_avx512(float* a, const float* b, const float* c, float s, long n) {
  const __m512 scale = _mm512_set1_ps(s);
  long i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(a + i, _mm512_fmadd_ps(scale, _mm512_loadu_ps(c + i), _mm512_loadu_ps(b + i)));
  for (; i < n; ++i) a[i] = b[i] + s * c[i];
}

}  // namespace

constexpr MachineProbeEntry kProbeAvx512{fma_loop_avx512, triad_avx512};

}  // namespace sepnet::kernels
