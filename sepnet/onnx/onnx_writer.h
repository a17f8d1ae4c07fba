// Writes an inference graph (infer::Graph) as an ONNX model: opset 13, standard operators only,
// producer "sepnet", the batch as the symbolic dimension "N" of the input and output, weights
// as float32 initializers and the graph's metadata (e.g. the input normalization) as
// metadata_props. The file is what onnx.checker and ONNX Runtime read (tests/onnx_ort.sh).
#pragma once
#include <string>

#include "sepnet/infer/graph.h"

namespace sepnet::onnx {

// The serialized ModelProto. Throws std::invalid_argument if the graph does not validate.
std::string write_onnx(const infer::Graph& graph, const std::string& graph_name = "sepnet");
// Writes it to `path` atomically; errors name the path.
void write_onnx_file(const infer::Graph& graph, const std::string& path, const std::string& graph_name = "sepnet");

}  // namespace sepnet::onnx
