// Scalar (baseline x86-64) peak loop and triad, exported as the scalar row of the machine probe's variants.
#include "sepnet/kernels/machine_probe_internal.h"

namespace sepnet::kernels {

namespace {
// Baseline x86-64 has no FMA: separate multiply and add on 4-wide SSE2 vectors (the compiler
// vectorizes this loop), 8 independent accumulators of 4 lanes each.
double fma_loop_scalar(long iterations, float* sink) {
  constexpr int kAcc = 32;
  float acc[kAcc];
  for (int i = 0; i < kAcc; ++i) acc[i] = 0.001f * static_cast<float>(i);
  const float mul = 0.999999f, add = 1e-6f;
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < kAcc; ++i) acc[i] = acc[i] * mul + add;
  float total = 0.0f;
  for (int i = 0; i < kAcc; ++i) total += acc[i];
  *sink += total;
  return 2.0 * kAcc * static_cast<double>(iterations);
}

// The reference triad (the compiler vectorizes it with SSE2).
void triad_scalar(float* a, const float* b, const float* c, float s, long n) {
  for (long i = 0; i < n; ++i) a[i] = b[i] + s * c[i];
}
}  // namespace

constexpr MachineProbeEntry kProbeScalar{fma_loop_scalar, triad_scalar};

}  // namespace sepnet::kernels
