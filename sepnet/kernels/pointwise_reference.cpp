// The definitions of pointwise convolution and its gradients: one multiply-add at a time.
#include "sepnet/kernels/pointwise.h"

namespace sepnet::kernels {

void pointwise_conv2d_forward_reference(const PointwiseShape& s, const float* input,
                                        const float* weight, const float* bias, float* output) {
  const long hw = s.spatial;
  for (int n = 0; n < s.batch; ++n)
    for (int co = 0; co < s.out_channels; ++co)
      for (long i = 0; i < hw; ++i) {
        float acc = bias ? bias[co] : 0.0f;
        for (int ci = 0; ci < s.in_channels; ++ci)
          acc += weight[static_cast<long>(co) * s.in_channels + ci] *
                 input[(static_cast<long>(n) * s.in_channels + ci) * hw + i];
        output[(static_cast<long>(n) * s.out_channels + co) * hw + i] = acc;
      }
}

void pointwise_conv2d_backward_input_reference(const PointwiseShape& s, const float* grad_output,
                                               const float* weight, float* grad_input) {
  const long hw = s.spatial;
  for (int n = 0; n < s.batch; ++n)
    for (int ci = 0; ci < s.in_channels; ++ci)
      for (long i = 0; i < hw; ++i) {
        float acc = 0.0f;
        for (int co = 0; co < s.out_channels; ++co)
          acc += weight[static_cast<long>(co) * s.in_channels + ci] *
                 grad_output[(static_cast<long>(n) * s.out_channels + co) * hw + i];
        grad_input[(static_cast<long>(n) * s.in_channels + ci) * hw + i] += acc;
      }
}

void pointwise_conv2d_backward_weight_reference(const PointwiseShape& s, const float* input,
                                                const float* grad_output, float* grad_weight,
                                                float* grad_bias) {
  const long hw = s.spatial;
  for (int co = 0; co < s.out_channels; ++co) {
    for (int ci = 0; ci < s.in_channels; ++ci) {
      float acc = 0.0f;
      for (int n = 0; n < s.batch; ++n)
        for (long i = 0; i < hw; ++i)
          acc += grad_output[(static_cast<long>(n) * s.out_channels + co) * hw + i] *
                 input[(static_cast<long>(n) * s.in_channels + ci) * hw + i];
      grad_weight[static_cast<long>(co) * s.in_channels + ci] += acc;
    }
    if (grad_bias) {
      float acc = 0.0f;
      for (int n = 0; n < s.batch; ++n)
        for (long i = 0; i < hw; ++i)
          acc += grad_output[(static_cast<long>(n) * s.out_channels + co) * hw + i];
      grad_bias[co] += acc;
    }
  }
}

}  // namespace sepnet::kernels
