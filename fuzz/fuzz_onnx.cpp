// libFuzzer harness for the ONNX importer (sepnet/onnx/onnx_reader.cpp). The input is a .onnx
// file's bytes, read from disk as `sepnet run` reads it. Any input either reads into a graph
// that validates, or throws std::invalid_argument / std::runtime_error naming the file. A graph
// that reads and is small is also run once by the reference evaluator on a batch of 1, which
// may refuse it (std::exception) but must not crash.
#include <cstdint>
#include <stdexcept>
#include <string>

#include "fuzz_common.h"
#include "sepnet/infer/executor.h"
#include "sepnet/onnx/onnx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sepnet::fuzz::ScratchFile scratch("onnx");
  const std::string& path = scratch.write(std::string(reinterpret_cast<const char*>(data), size));
  sepnet::onnx::ReadOptions options;
  options.max_tensor_elements = int64_t{1} << 20;  // keeps each input's memory small under ASan
  sepnet::infer::Graph graph;
  try {
    graph = sepnet::onnx::read_onnx_file(path, options);
  } catch (const std::invalid_argument& e) {
    sepnet::fuzz::check_names_file(e.what(), path);
    return 0;
  } catch (const std::runtime_error& e) {
    sepnet::fuzz::check_names_file(e.what(), path);
    return 0;
  }
  if (graph.input < 0 || graph.output < 0) sepnet::fuzz::finding("a graph read without input or output");
  // Run it when every activation is small, so one input cannot cost seconds.
  try {
    const auto shapes = sepnet::infer::infer_shapes(graph, 1);
    int64_t total = 0;
    for (const auto& s : shapes) total += sepnet::shape_numel(s);
    if (total > (int64_t{1} << 18)) return 0;
    sepnet::Shape shape = graph.values[graph.input].shape;
    shape[0] = 1;
    sepnet::infer::run_reference(graph, sepnet::Tensor::full(shape, 0.5f));
  } catch (const std::exception&) {
  }
  return 0;
}
