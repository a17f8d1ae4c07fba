// The pool family's variants table and its one shape rule (kernels/dispatch.h), and the
// threading around them.
#include "sepnet/kernels/pool.h"

#include <omp.h>

#include <algorithm>

#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/pool_internal.h"

namespace sepnet::kernels {

namespace {
constexpr Variant<PoolEntry> kVariants[] = {
    {Isa::scalar, "scalar", &kPoolScalar},
    {Isa::avx2, "avx2", &kPoolAvx2},
    {Isa::avx512, "avx512", &kPoolAvx512},
};
static_assert(one_row_per_isa(kVariants));
}  // namespace

VariantTable<PoolEntry> pool_variants() { return kVariants; }

Isa pool_isa_for(Isa active, PoolOp, const PoolShape& s) {
  // GCC vectorizes the AVX-512 copy 16 outputs wide; shorter rows (12 and 4 in the MNIST nets)
  // would run its scalar remainder, whose NaN-rule branches mispredict (measured 4–12× slower
  // than the AVX2 copy there).
  return active == Isa::avx512 && s.out_w() < 16 ? Isa::avx2 : active;
}

void max_pool2d_forward(const PoolShape& s, const float* input, float* output, int32_t* argmax) {
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(s.out_h()) * s.out_w();
  const int threads = std::min<long>(threads_for(planes * in_plane, 1 << 14), planes);
  // 2×2 / stride 2 (every pool in the MNIST nets) runs the vectorized row kernel of the
  // selected variant; other windows the reference loop.
  const bool two_by_two = s.kernel == 2 && s.stride == 2;
  const auto two_by_two_planes =
      selected_variant(kVariants, pool_isa_for, PoolOp::max_pool_2x2, s).entry->max_pool_2x2_planes;
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const long t = omp_get_thread_num(), nt = omp_get_num_threads();
    const long p0 = planes * t / nt, p1 = planes * (t + 1) / nt;
    if (two_by_two) {
      two_by_two_planes(s.in_h, s.in_w, p0, p1, input, output, argmax);
    } else {
      const PoolShape slice{1, static_cast<int>(p1 - p0), s.in_h, s.in_w, s.kernel, s.stride};
      max_pool2d_forward_reference(slice, input + p0 * in_plane, output + p0 * out_plane, argmax + p0 * out_plane);
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
