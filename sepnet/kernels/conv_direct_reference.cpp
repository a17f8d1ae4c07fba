// The plain loop definitions of the direct convolution and its gradients (kernels/conv_direct.h),
// one output element at a time, sums in double.
#include "sepnet/kernels/conv_direct.h"

namespace sepnet::kernels {

namespace {
// Input value at (n, c, y, x) of the zero-padded image, or 0 outside.
float at(const DirectConvShape& s, const float* input, int n, int c, int y, int x) {
  if (y < 0 || y >= s.in_h || x < 0 || x >= s.in_w) return 0.0f;
  return input[((static_cast<long>(n) * s.in_channels + c) * s.in_h + y) * s.in_w + x];
}
long out_index(const DirectConvShape& s, int n, int o, int y, int x) {
  return ((static_cast<long>(n) * s.out_channels + o) * s.out_h() + y) * s.out_w() + x;
}
long weight_index(const DirectConvShape& s, int o, int c, int ky, int kx) {
  return ((static_cast<long>(o) * s.in_channels + c) * s.kernel_h + ky) * s.kernel_w + kx;
}
}  // namespace

void direct_conv2d_forward_reference(const DirectConvShape& s, const float* input, const float* weight,
                                     const float* bias, float* output) {
  for (int n = 0; n < s.batch; ++n)
    for (int o = 0; o < s.out_channels; ++o)
      for (int y = 0; y < s.out_h(); ++y)
        for (int x = 0; x < s.out_w(); ++x) {
          double sum = bias ? bias[o] : 0.0;
          for (int c = 0; c < s.in_channels; ++c)
            for (int ky = 0; ky < s.kernel_h; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx)
                sum += static_cast<double>(weight[weight_index(s, o, c, ky, kx)]) *
                       at(s, input, n, c, y + ky - s.pad, x + kx - s.pad);
          output[out_index(s, n, o, y, x)] = static_cast<float>(sum);
        }
}

void direct_conv2d_backward_input_reference(const DirectConvShape& s, const float* grad_output,
                                            const float* weight, float* grad_input) {
  for (int n = 0; n < s.batch; ++n)
    for (int o = 0; o < s.out_channels; ++o)
      for (int y = 0; y < s.out_h(); ++y)
        for (int x = 0; x < s.out_w(); ++x) {
          const float g = grad_output[out_index(s, n, o, y, x)];
          for (int c = 0; c < s.in_channels; ++c)
            for (int ky = 0; ky < s.kernel_h; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx) {
                const int iy = y + ky - s.pad, ix = x + kx - s.pad;
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                grad_input[((static_cast<long>(n) * s.in_channels + c) * s.in_h + iy) * s.in_w + ix] +=
                    g * weight[weight_index(s, o, c, ky, kx)];
              }
        }
}

void direct_conv2d_backward_weight_reference(const DirectConvShape& s, const float* input,
                                             const float* grad_output, float* grad_weight, float* grad_bias) {
  for (int o = 0; o < s.out_channels; ++o) {
    double bias_sum = 0.0;
    for (int n = 0; n < s.batch; ++n)
      for (int y = 0; y < s.out_h(); ++y)
        for (int x = 0; x < s.out_w(); ++x) bias_sum += grad_output[out_index(s, n, o, y, x)];
    if (grad_bias) grad_bias[o] += static_cast<float>(bias_sum);
    if (!grad_weight) continue;
    for (int c = 0; c < s.in_channels; ++c)
      for (int ky = 0; ky < s.kernel_h; ++ky)
        for (int kx = 0; kx < s.kernel_w; ++kx) {
          double sum = 0.0;
          for (int n = 0; n < s.batch; ++n)
            for (int y = 0; y < s.out_h(); ++y)
              for (int x = 0; x < s.out_w(); ++x)
                sum += static_cast<double>(grad_output[out_index(s, n, o, y, x)]) *
                       at(s, input, n, c, y + ky - s.pad, x + kx - s.pad);
          grad_weight[weight_index(s, o, c, ky, kx)] += static_cast<float>(sum);
        }
  }
}

}  // namespace sepnet::kernels
