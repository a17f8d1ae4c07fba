// The definitions of channels-last depthwise convolution and its gradients, one multiply-add
// at a time.
#include "sepnet/kernels/depthwise_nhwc.h"

namespace sepnet::kernels {

namespace {
// Calls f(in_index, out_index, weight_index) for every (output pixel, tap, channel) inside the image.
template <class F>
void for_each_tap_nhwc(const DepthwiseShape& s, F&& f) {
  const int oh = s.out_h(), ow = s.out_w(), c_n = s.channels;
  for (int n = 0; n < s.batch; ++n)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int ki = 0; ki < s.kernel_h; ++ki)
          for (int kj = 0; kj < s.kernel_w; ++kj) {
            const int y = oy * s.stride + ki - s.pad, x = ox * s.stride + kj - s.pad;
            if (y < 0 || y >= s.in_h || x < 0 || x >= s.in_w) continue;
            const long in = ((static_cast<long>(n) * s.in_h + y) * s.in_w + x) * c_n;
            const long out = ((static_cast<long>(n) * oh + oy) * ow + ox) * c_n;
            for (int c = 0; c < c_n; ++c)
              f(in + c, out + c, static_cast<long>(ki * s.kernel_w + kj) * c_n + c);
          }
}
}  // namespace

void depthwise_conv2d_nhwc_forward_reference(const DepthwiseShape& s, const float* input,
                                             const float* weight, const float* bias,
                                             float* output, bool fuse_relu) {
  const long pixels = static_cast<long>(s.batch) * s.out_h() * s.out_w();
  for (long p = 0; p < pixels; ++p)
    for (int c = 0; c < s.channels; ++c) output[p * s.channels + c] = bias ? bias[c] : 0.0f;
  for_each_tap_nhwc(s, [&](long in, long out, long w) { output[out] += input[in] * weight[w]; });
  if (fuse_relu)
    for (long i = 0; i < pixels * s.channels; ++i) output[i] = output[i] > 0.0f ? output[i] : 0.0f;
}

void depthwise_conv2d_nhwc_backward_input_reference(const DepthwiseShape& s,
                                                    const float* grad_output, const float* weight,
                                                    float* grad_input) {
  for_each_tap_nhwc(s, [&](long in, long out, long w) { grad_input[in] += grad_output[out] * weight[w]; });
}

void depthwise_conv2d_nhwc_backward_weight_reference(const DepthwiseShape& s, const float* input,
                                                     const float* grad_output, float* grad_weight,
                                                     float* grad_bias) {
  for_each_tap_nhwc(s, [&](long in, long out, long w) { grad_weight[w] += input[in] * grad_output[out]; });
  if (!grad_bias) return;
  const long pixels = static_cast<long>(s.batch) * s.out_h() * s.out_w();
  for (long p = 0; p < pixels; ++p)
    for (int c = 0; c < s.channels; ++c) grad_bias[c] += grad_output[p * s.channels + c];
}

}  // namespace sepnet::kernels
