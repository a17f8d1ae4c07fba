// The output pass of a kernel that has no hook for it: bias and fused activation applied to a
// block that was just written (still in cache), on the threads that share the block.
#pragma once
#include <cstdint>

#include "sepnet/infer/graph.h"

namespace sepnet::infer {

struct Epilogue {
  Activation activation = Activation::none;
  float lo = 0.0f, hi = 0.0f;  // clip range
  bool active() const { return activation != Activation::none; }
};
Epilogue epilogue_of(const Attributes& a);

// rows × channels, channels contiguous (NHWC pixels, Gemm rows): y = act(y + bias[c]).
void apply_rows(float* y, int64_t rows, int64_t channels, const float* bias, const Epilogue& e);
// planes of `plane` floats, plane p belonging to channel p % channels (NCHW): y = act(y + bias[c]).
void apply_planes(float* y, int64_t planes, int64_t plane, int64_t channels, const float* bias, const Epilogue& e);

}  // namespace sepnet::infer
