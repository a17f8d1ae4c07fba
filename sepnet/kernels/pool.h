// 2-D max pooling, NCHW, no padding (floor mode, as PyTorch's default).
#pragma once
#include <cstdint>

namespace sepnet::kernels {

struct PoolShape {
  int batch, channels, in_h, in_w;
  int kernel, stride;
  int out_h() const { return (in_h - kernel) / stride + 1; }
  int out_w() const { return (in_w - kernel) / stride + 1; }
};

// output = max over each window; argmax[i] = index of the winner within its input plane
// (first maximum on ties, NaN wins), kept for the backward pass.
void max_pool2d_forward(const PoolShape& s, const float* input, float* output, int32_t* argmax);
// grad_input[plane][argmax] += grad_output  (accumulates)
void max_pool2d_backward(const PoolShape& s, const float* grad_output, const int32_t* argmax,
                         float* grad_input);

void max_pool2d_forward_reference(const PoolShape& s, const float* input, float* output, int32_t* argmax);

}  // namespace sepnet::kernels
