// Differentiable operations. Each op runs a forward kernel from kernels/ and, when recording,
// registers its backward (see core/autograd.h). All tensors are contiguous NCHW float32.
#pragma once
#include <cstdint>
#include <vector>

#include "sepnet/core/tensor.h"

namespace sepnet::ops {

// 2-D convolution. x [N, C_in, H, W], weight [C_out, C_in/groups, KH, KW], bias [C_out] or
// undefined. groups == C_in == C_out is depthwise; 1×1 kernels with groups == 1 are pointwise.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride = 1, int pad = 0,
              int groups = 1);
// y = x·weightᵀ + bias; x [N, in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// Batch normalization over channels of x [N, C, H, W] (or [N, C]). In training, uses batch
// statistics and updates running_mean/var in place: r = (1 − momentum)·r + momentum·batch
// (unbiased variance for running_var, as PyTorch). In eval, uses the running statistics.
// fuse_relu: returns relu(batch_norm2d(x)) as one node, one pass over the data forward and
// backward (equal to the two ops in sequence; MobileNet's BN → ReLU pairs use it).
Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f,
                    bool fuse_relu = false);

// Channels-last (NHWC) activations, x [N, H, W, C]: what MobileNet runs on (docs/design.md,
// "Layouts"). Weights, biases and BN parameters keep the same shapes as in NCHW.
Tensor to_channels_last(const Tensor& x);   // [N, C, H, W] -> [N, H, W, C]
Tensor to_channels_first(const Tensor& x);  // [N, H, W, C] -> [N, C, H, W]
// conv2d on x [N, H, W, C_in] -> [N, OH, OW, C_out]; weight [C_out, C_in/groups, KH, KW] as in
// conv2d. Depthwise convs run the NHWC depthwise kernels, dense 1×1 convs one GEMM over all
// pixels of the batch; any other conv runs the NCHW kernels between two layout conversions.
Tensor conv2d_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride = 1, int pad = 0,
                   int groups = 1);
// A dense conv (groups 1) from NCHW x [N, C_in, H, W] to channels-last [N, OH, OW, C_out]: the
// im2col GEMM with both operands transposed writes NHWC directly (MobileNet's stem).
Tensor conv2d_nchw_to_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride = 1, int pad = 0);
// batch_norm2d over the channels of x [N, H, W, C].
Tensor batch_norm2d_nhwc(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                         Tensor& running_var, bool training, float momentum = 0.1f, float eps = 1e-5f,
                         bool fuse_relu = false);
Tensor global_avg_pool_nhwc(const Tensor& x);  // [N, H, W, C] -> [N, C], mean over pixels

Tensor relu(const Tensor& x);
Tensor max_pool2d(const Tensor& x, int kernel, int stride);
Tensor reshape(const Tensor& x, const Shape& shape);  // shares storage; -1 infers one dim
Tensor flatten(const Tensor& x);                        // [N, ...] -> [N, prod(...)]

Tensor softmax(const Tensor& x);      // over the last dim of a 2-D tensor
Tensor log_softmax(const Tensor& x);  // over the last dim of a 2-D tensor
// Mean negative log-likelihood of log-probabilities logp [N, K] at labels (each in [0, K)).
Tensor nll_loss(const Tensor& logp, const std::vector<int32_t>& labels);
// nll_loss(log_softmax(logits), labels), PyTorch's CrossEntropyLoss.
Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& labels);

// Small arithmetic, for composing losses and testing the graph machinery.
Tensor add(const Tensor& a, const Tensor& b);  // same shape
Tensor mul(const Tensor& a, const Tensor& b);  // same shape, element-wise
Tensor scale(const Tensor& a, float s);
Tensor sum(const Tensor& a);   // one element
Tensor mean(const Tensor& a);  // one element

}  // namespace sepnet::ops
