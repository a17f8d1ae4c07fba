// Which kernel runs a Conv node, and running it. The fast kernels take what they were written
// for (symmetric pads, one stride, no dilation); everything else goes to im2col + GEMM, which
// takes any Conv ONNX allows.
#pragma once
#include "sepnet/infer/step.h"

namespace sepnet::infer {

// Fills s.conv for node n. input_nhwc: the input is already channels-last; channels_last: NHWC
// kernels may be chosen at all.
void choose_conv(const Graph& g, const Node& n, Step& s, bool input_nhwc, bool channels_last);
int64_t conv_scratch_floats(const Step& s);
void run_conv(const Step& s, const float* const* inputs, float* output, float* scratch);

}  // namespace sepnet::infer
