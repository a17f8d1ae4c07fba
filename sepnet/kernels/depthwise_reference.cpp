// The definitions of depthwise convolution and its gradients: one multiply-add at a time.
#include "sepnet/kernels/depthwise.h"

namespace sepnet::kernels {

namespace {
// Calls f(in_index, out_index, weight_index) for every (output pixel, tap) inside the image.
template <class F>
void for_each_tap(const DepthwiseShape& s, int n, int c, F&& f) {
  const int oh = s.out_h(), ow = s.out_w();
  const long in_base = (static_cast<long>(n) * s.channels + c) * s.in_h * s.in_w;
  const long out_base = (static_cast<long>(n) * s.channels + c) * oh * ow;
  const long w_base = static_cast<long>(c) * s.kernel_h * s.kernel_w;
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox)
      for (int ki = 0; ki < s.kernel_h; ++ki)
        for (int kj = 0; kj < s.kernel_w; ++kj) {
          int y = oy * s.stride + ki - s.pad, x = ox * s.stride + kj - s.pad;
          if (y < 0 || y >= s.in_h || x < 0 || x >= s.in_w) continue;
          f(in_base + static_cast<long>(y) * s.in_w + x, out_base + static_cast<long>(oy) * ow + ox,
            w_base + ki * s.kernel_w + kj);
        }
}
}  // namespace

void depthwise_conv2d_forward_reference(const DepthwiseShape& s, const float* input,
                                        const float* weight, const float* bias, float* output,
                                        bool fuse_relu) {
  const long plane = static_cast<long>(s.out_h()) * s.out_w();
  for (int n = 0; n < s.batch; ++n)
    for (int c = 0; c < s.channels; ++c) {
      float* out = output + (static_cast<long>(n) * s.channels + c) * plane;
      for (long i = 0; i < plane; ++i) out[i] = bias ? bias[c] : 0.0f;
      for_each_tap(s, n, c, [&](long in, long o, long w) { output[o] += input[in] * weight[w]; });
      if (fuse_relu)
        for (long i = 0; i < plane; ++i) out[i] = out[i] > 0.0f ? out[i] : 0.0f;
    }
}

void depthwise_conv2d_backward_input_reference(const DepthwiseShape& s, const float* grad_output,
                                               const float* weight, float* grad_input) {
  for (int n = 0; n < s.batch; ++n)
    for (int c = 0; c < s.channels; ++c)
      for_each_tap(s, n, c, [&](long in, long o, long w) { grad_input[in] += grad_output[o] * weight[w]; });
}

void depthwise_conv2d_backward_weight_reference(const DepthwiseShape& s, const float* input,
                                                const float* grad_output, float* grad_weight,
                                                float* grad_bias) {
  const long plane = static_cast<long>(s.out_h()) * s.out_w();
  for (int n = 0; n < s.batch; ++n)
    for (int c = 0; c < s.channels; ++c) {
      for_each_tap(s, n, c, [&](long in, long o, long w) { grad_weight[w] += input[in] * grad_output[o]; });
      if (grad_bias) {
        const float* g = grad_output + (static_cast<long>(n) * s.channels + c) * plane;
        for (long i = 0; i < plane; ++i) grad_bias[c] += g[i];
      }
    }
}

}  // namespace sepnet::kernels
