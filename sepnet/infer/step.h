// One step of an executor plan: a node (or a layout conversion) bound to buffers, with the
// kernel chosen for it. Shapes are logical (NCHW order); the layouts say how buffers are stored.
#pragma once
#include <string>
#include <vector>

#include "sepnet/infer/graph.h"

namespace sepnet::infer {

enum class Layout { nchw, nhwc };

enum class StepKind {
  conv, batch_norm, elementwise, add, pool, global_average_pool, gemm, matmul, softmax, copy,
  to_nhwc, to_nchw,
};

// The kernel a conv runs (conv_step.h).
enum class ConvKernel {
  depthwise_nhwc,   // kernels::depthwise_conv2d_nhwc_forward, NHWC in and out
  pointwise_nhwc,   // one GEMM over all pixels: [N·H·W × C]·Wᵀ, NHWC in and out
  stem,             // kernels::stem_conv2d_forward, NCHW in, NHWC out
  direct,           // kernels::direct_conv2d_forward, NCHW
  pointwise,        // kernels::pointwise_conv2d_forward, NCHW
  depthwise,        // kernels::depthwise_conv2d_forward, NCHW
  im2col_gemm,      // any conv (groups, dilation, asymmetric pads): im2col per image and group + GEMM
};

struct ConvChoice {
  ConvKernel kernel = ConvKernel::im2col_gemm;
  bool input_nhwc = false, output_nhwc = false;
  std::vector<float> weight_hwc;  // depthwise_nhwc: the weight as [KH·KW][C]
};

constexpr int kMaxStepInputs = 5;

struct Step {
  StepKind kind = StepKind::copy;
  const Node* node = nullptr;  // null for layout conversions
  std::string label;
  Shape in_shape, out_shape;   // of the first input and of the output
  Shape b_shape, c_shape;      // Add's second input, Gemm's C
  std::vector<int> inputs;     // per node input: buffer id, or -1 for a constant
  std::vector<const float*> constants;  // per node input: the constant's data, or null
  int output = -1;
  bool input_nhwc = false;     // layout of the (first) input, and of the output for layout-following ops
  ConvChoice conv;
  int kernel_h = 0, kernel_w = 0, kernel_taps = 0;  // conv: from the weight
  int64_t scratch_floats = 0;
};

}  // namespace sepnet::infer
