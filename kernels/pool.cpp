#include "kernels/pool.h"

#include <cmath>
#include <cstring>

#include "kernels/parallel.h"

namespace sepnet::kernels {

namespace {
// 2×2 stride-2 windows (every pool in the MNIST nets): branch-free selects the compiler can
// keep in registers; same winner rule as the general loop (first maximum, NaN wins).
void pool_plane_2x2(const PoolShape& s, const float* in, float* out, int32_t* arg) {
  const int oh = s.out_h(), ow = s.out_w();
  for (int oy = 0; oy < oh; ++oy) {
    const float* r0 = in + (2 * oy) * s.in_w;
    const float* r1 = r0 + s.in_w;
    const int base = 2 * oy * s.in_w;
    for (int ox = 0; ox < ow; ++ox) {
      float best = r0[2 * ox];
      int idx = base + 2 * ox;
      const float cand[3] = {r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
      const int cand_idx[3] = {base + 2 * ox + 1, base + s.in_w + 2 * ox, base + s.in_w + 2 * ox + 1};
      for (int k = 0; k < 3; ++k) {
        // Take a larger value, or a NaN over a number. Selected with bit masks, not `?:`:
        // GCC compiles the selects to branches, which mispredict on every other window.
        const bool take = (cand[k] > best) | ((cand[k] != cand[k]) & (best == best));
        const uint32_t mask = 0u - static_cast<uint32_t>(take);
        uint32_t best_bits, cand_bits;
        std::memcpy(&best_bits, &best, sizeof best_bits);
        std::memcpy(&cand_bits, &cand[k], sizeof cand_bits);
        best_bits = (best_bits & ~mask) | (cand_bits & mask);
        std::memcpy(&best, &best_bits, sizeof best);
        idx = static_cast<int>((static_cast<uint32_t>(idx) & ~mask) | (static_cast<uint32_t>(cand_idx[k]) & mask));
      }
      out[oy * ow + ox] = best;
      arg[oy * ow + ox] = idx;
    }
  }
}

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
  const int threads = threads_for(planes * in_plane, 1 << 14);
  const bool two_by_two = s.kernel == 2 && s.stride == 2;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long p = 0; p < planes; ++p) {
    if (two_by_two)
      pool_plane_2x2(s, input + p * in_plane, output + p * out_plane, argmax + p * out_plane);
    else
      pool_plane(s, input + p * in_plane, output + p * out_plane, argmax + p * out_plane);
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
