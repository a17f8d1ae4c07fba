// Shape arithmetic shared by shape inference, the reference evaluator and the executor.
#pragma once
#include <cstdint>

#include "sepnet/core/tensor.h"

namespace sepnet::infer {

// Output length of a sliding window (ONNX conv/pool, ceil_mode 0); 0 when it does not fit.
int64_t window_output(int64_t in, int kernel, int stride, int dilation, int pad_begin, int pad_end);
// Numpy broadcast of two shapes; empty when they do not broadcast (or both are scalars).
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace sepnet::infer

namespace sepnet::infer {
struct Graph;
// The batch size of an input of shape `input` for `graph`; throws std::invalid_argument when its
// rank or a fixed dimension differs from the graph input's.
int64_t batch_of_input(const Graph& graph, const Shape& input);
}  // namespace sepnet::infer
