// Reads an ONNX model (a ModelProto, opset 13 semantics) into an inference graph (infer::Graph).
// What it accepts: one float32 graph input whose dimension 0 is the batch, one output, float32
// weights, int64 shape constants, and the operators infer::OpKind names plus Constant, Shape,
// Gather, Unsqueeze and Concat, which are evaluated here, once, as the shape arithmetic PyTorch
// emits for x.view(x.size(0), -1). Everything else is refused with an error naming the source,
// the node and the operator, attribute or dtype (docs/onnx.md lists what and why).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "sepnet/infer/graph.h"

namespace sepnet::onnx {

struct ReadOptions {
  // The largest .onnx file or buffer accepted, and the most elements one tensor may hold; both
  // are checked before anything of that size is allocated.
  size_t max_bytes = size_t{1} << 30;
  int64_t max_tensor_elements = int64_t{1} << 28;
  // Graph inputs bound to fixed values, read as constants: lets a model whose weights arrive as
  // inputs (the ONNX node tests' Gemm/MatMul/Add cases) run with its one remaining input.
  std::map<std::string, Tensor> constant_inputs;
};

// Parses `bytes` (a serialized ModelProto); `source` names it in errors ("model.onnx: node
// 'Conv_3' (Conv): attribute 'auto_pad'=SAME_UPPER is not supported"). Throws
// std::invalid_argument on anything it cannot represent faithfully.
infer::Graph read_onnx(std::string_view bytes, const std::string& source, const ReadOptions& options = {});
// The same for a file; errors name `path`.
infer::Graph read_onnx_file(const std::string& path, const ReadOptions& options = {});

// Reads an ONNX TensorProto (the node tests' input_0.pb / output_0.pb) holding float32 data.
Tensor read_onnx_tensor_file(const std::string& path, const ReadOptions& options = {});

}  // namespace sepnet::onnx
