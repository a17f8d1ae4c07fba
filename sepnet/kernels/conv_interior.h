// Internal to the direct convolution kernels: which output columns have a whole kernel window
// inside the image (they run unchecked register tiles; the rest take a checked path).
#pragma once
#include <algorithm>

namespace sepnet::kernels {

// Output columns [lo, hi) whose taps x = ox·stride − pad + kx, kx < kernel, all lie in [0, in_w).
inline void interior_output_columns(int in_w, int kernel, int stride, int pad, int out_w, int& lo, int& hi) {
  lo = std::min(out_w, (pad + stride - 1) / stride);
  const int last = in_w - kernel + pad;  // largest ox·stride allowed
  hi = last < 0 ? 0 : std::min(out_w, last / stride + 1);
  if (hi < lo) hi = lo;
}

}  // namespace sepnet::kernels
