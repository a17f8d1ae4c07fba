// Internal: the 2×2 stride-2 max-pool row, written so GCC vectorizes it (stride-2 loads become
// shuffles, the selects become blends). Included by pool_scalar.cpp (baseline x86-64, SSE2),
// pool_avx2.cpp and pool_avx512.cpp, each compiled with its own ISA flags and exporting it as its
// row of the variants table (pool.h); the anonymous namespace keeps each copy private to its
// translation unit (no ODR mixing across ISAs).
//
// Winner rule = the reference's row-major "first maximum, NaN wins": reduce each row pair
// horizontally first (left wins ties), then the two rows (top wins ties); a NaN beats a number
// and the first NaN stays. `||`/`&&` (not bit ops) is the form GCC 12 vectorizes.
#pragma once
#include <cstdint>

namespace sepnet::kernels {
namespace {

inline void max_pool_2x2_row(const float* __restrict r0, const float* __restrict r1, int ow, int32_t base,
                             int32_t in_w, float* __restrict out, int32_t* __restrict arg) {
  for (int ox = 0; ox < ow; ++ox) {
    const float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
    const bool right_top = b > a || (b != b && a == a);
    const float top = right_top ? b : a;
    const int32_t top_at = right_top ? 1 : 0;
    const bool right_bottom = d > c || (d != d && c == c);
    const float bottom = right_bottom ? d : c;
    const int32_t bottom_at = right_bottom ? in_w + 1 : in_w;
    const bool take_bottom = bottom > top || (bottom != bottom && top == top);
    out[ox] = take_bottom ? bottom : top;
    arg[ox] = base + 2 * ox + (take_bottom ? bottom_at : top_at);
  }
}

// planes [p0, p1) of 2×2 / stride-2 pooling.
inline void max_pool_2x2_planes(int in_h, int in_w, long p0, long p1, const float* input, float* output,
                                int32_t* argmax) {
  const int oh = (in_h - 2) / 2 + 1, ow = (in_w - 2) / 2 + 1;
  const long in_plane = static_cast<long>(in_h) * in_w, out_plane = static_cast<long>(oh) * ow;
  for (long p = p0; p < p1; ++p) {
    const float* in = input + p * in_plane;
    for (int oy = 0; oy < oh; ++oy) {
      const float* r0 = in + 2L * oy * in_w;
      max_pool_2x2_row(r0, r0 + in_w, ow, 2 * oy * in_w, in_w, output + p * out_plane + oy * ow,
                       argmax + p * out_plane + oy * ow);
    }
  }
}

}  // namespace
}  // namespace sepnet::kernels
