// The definition of max pooling: every window scanned in row-major order, the first maximum
// wins and a NaN beats any number.
#include <cmath>

#include "sepnet/kernels/pool.h"

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

}  // namespace sepnet::kernels
