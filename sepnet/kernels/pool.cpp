#include "sepnet/kernels/pool.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/pool_internal.h"
#include "sepnet/kernels/pool_rows.h"

namespace sepnet::kernels {

namespace {
void pool_plane(const PoolShape& s, const float* in, float* out, int32_t* arg) {
  const int oh = s.out_h(), ow = s.out_w();
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox) {
      int best = (oy * s.stride) * s.in_w + ox * s.stride;
      float best_value = in[best];
      for (int ky = 0; ky < s.kernel; ++ky)
        for (int kx = 0; kx < s.kernel; ++kx) {
          int idx = (oy * s.stride + ky) * s.in_w + ox * s.stride + kx;
          float v = in[idx];
          if (v > best_value || std::isnan(v)) {
            if (std::isnan(best_value)) continue;
            best_value = v;
            best = idx;
          }
        }
      out[oy * ow + ox] = best_value;
      arg[oy * ow + ox] = best;
    }
}
}  // namespace

void max_pool2d_forward_reference(const PoolShape& s, const float* input, float* output, int32_t* argmax) {
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(s.out_h()) * s.out_w();
  for (long p = 0; p < planes; ++p) pool_plane(s, input + p * in_plane, output + p * out_plane, argmax + p * out_plane);
}

void max_pool2d_forward(const PoolShape& s, const float* input, float* output, int32_t* argmax) {
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(s.out_h()) * s.out_w();
  const int threads = std::min<long>(threads_for(planes * in_plane, 1 << 14), planes);
  const bool two_by_two = s.kernel == 2 && s.stride == 2;
  // 2×2 / stride 2 (every pool in the MNIST nets) runs the vectorized row kernel of the
  // active ISA; other windows the general loop.
  using TwoByTwo = void (*)(int, int, long, long, const float*, float*, int32_t*);
  TwoByTwo two_by_two_planes = max_pool_2x2_planes;
  // GCC vectorizes the AVX-512 copy 16 outputs wide; shorter rows (12 and 4 in the MNIST nets)
  // would run its scalar remainder, whose NaN-rule branches mispredict (measured 4–12× slower
  // than the AVX2 copy there).
  if (active_isa() == Isa::avx512)
    two_by_two_planes = s.out_w() >= 16 ? pool_avx512::max_pool_2x2_planes : pool_avx2::max_pool_2x2_planes;
  if (active_isa() == Isa::avx2) two_by_two_planes = pool_avx2::max_pool_2x2_planes;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const long t = omp_get_thread_num(), nt = omp_get_num_threads();
    const long p0 = planes * t / nt, p1 = planes * (t + 1) / nt;
    if (two_by_two) {
      two_by_two_planes(s.in_h, s.in_w, p0, p1, input, output, argmax);
    } else {
      for (long p = p0; p < p1; ++p)
        pool_plane(s, input + p * in_plane, output + p * out_plane, argmax + p * out_plane);
    }
  }
}

void max_pool2d_backward(const PoolShape& s, const float* grad_output, const int32_t* argmax, float* grad_input) {
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(s.out_h()) * s.out_w();
  const int threads = threads_for(planes * in_plane, 1 << 14);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long p = 0; p < planes; ++p) {
    const float* g = grad_output + p * out_plane;
    const int32_t* a = argmax + p * out_plane;
    float* gi = grad_input + p * in_plane;
    for (long i = 0; i < out_plane; ++i) gi[a[i]] += g[i];
  }
}

}  // namespace sepnet::kernels
