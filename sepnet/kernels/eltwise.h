// Element-wise and row-wise kernels: ReLU, softmax, log-softmax and their gradients.
#pragma once
#include <cstdint>

namespace sepnet::kernels {

void relu_forward(long count, const float* x, float* y);
// grad_x += grad_y where y > 0 (y is the ReLU output; at 0 the gradient is 0, as PyTorch)
// grad_x (+)= grad_y where y > 0; accumulate = false overwrites grad_x instead of adding.
void relu_backward(long count, const float* y, const float* grad_y, float* grad_x, bool accumulate = true);

// Row-wise over a rows×cols matrix (max-subtracted, so large logits do not overflow).
void softmax_rows(long rows, long cols, const float* x, float* y);
void log_softmax_rows(long rows, long cols, const float* x, float* y);
// Given y = softmax(x): grad_x += y ⊙ (grad_y − Σ_j grad_y·y)
void softmax_rows_backward(long rows, long cols, const float* y, const float* grad_y, float* grad_x);
// Given y = log_softmax(x): grad_x += grad_y − softmax(x)·Σ_j grad_y
void log_softmax_rows_backward(long rows, long cols, const float* y, const float* grad_y, float* grad_x);

void add_scaled(long count, float alpha, const float* x, float* y);  // y += alpha·x

}  // namespace sepnet::kernels
