// The plain loop definitions of the stem convolution (kernels/conv_stem.h).
#include "sepnet/kernels/conv_stem.h"

namespace sepnet::kernels {

namespace {
// input[n][c][y][x], or 0 outside the image.
float tap(const StemConvShape& s, const float* input, int n, int c, int y, int x) {
  if (y < 0 || y >= s.in_h || x < 0 || x >= s.in_w) return 0.0f;
  return input[((static_cast<long>(n) * s.in_channels + c) * s.in_h + y) * s.in_w + x];
}
}  // namespace

void stem_conv2d_forward_reference(const StemConvShape& s, const float* input, const float* weight,
                                   const float* bias, float* output) {
  const int oh = s.out_h(), ow = s.out_w();
  for (int n = 0; n < s.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int o = 0; o < s.out_channels; ++o) {
          double acc = bias ? bias[o] : 0.0;
          for (int c = 0; c < s.in_channels; ++c)
            for (int ky = 0; ky < s.kernel_h; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx)
                acc += static_cast<double>(tap(s, input, n, c, oy * s.stride - s.pad + ky, ox * s.stride - s.pad + kx)) *
                       weight[((static_cast<long>(o) * s.in_channels + c) * s.kernel_h + ky) * s.kernel_w + kx];
          output[((static_cast<long>(n) * oh + oy) * ow + ox) * s.out_channels + o] = static_cast<float>(acc);
        }
}

void stem_conv2d_backward_weight_reference(const StemConvShape& s, const float* input, const float* grad_output,
                                           float* grad_weight, float* grad_bias) {
  const int oh = s.out_h(), ow = s.out_w();
  for (int o = 0; o < s.out_channels; ++o) {
    double gb = 0.0;
    for (int c = 0; c < s.in_channels; ++c)
      for (int ky = 0; ky < s.kernel_h; ++ky)
        for (int kx = 0; kx < s.kernel_w; ++kx) {
          double acc = 0.0;
          for (int n = 0; n < s.batch; ++n)
            for (int oy = 0; oy < oh; ++oy)
              for (int ox = 0; ox < ow; ++ox)
                acc += static_cast<double>(grad_output[((static_cast<long>(n) * oh + oy) * ow + ox) * s.out_channels + o]) *
                       tap(s, input, n, c, oy * s.stride - s.pad + ky, ox * s.stride - s.pad + kx);
          if (grad_weight)
            grad_weight[((static_cast<long>(o) * s.in_channels + c) * s.kernel_h + ky) * s.kernel_w + kx] +=
                static_cast<float>(acc);
        }
    for (int n = 0; n < s.batch; ++n)
      for (int p = 0; p < oh * ow; ++p) gb += grad_output[(static_cast<long>(n) * oh * ow + p) * s.out_channels + o];
    if (grad_bias) grad_bias[o] += static_cast<float>(gb);
  }
}

}  // namespace sepnet::kernels
