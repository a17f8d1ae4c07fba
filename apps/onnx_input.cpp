#include "apps/onnx_input.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "sepnet/infer/executor.h"
#include "sepnet/onnx/onnx_reader.h"

namespace sepnet::app {
namespace {

// "0.1307" or "0.5,0.5,0.5" -> one value; per-channel values that differ are refused, since the
// data set normalizes every channel alike.
float one_value(const std::string& model_path, const std::string& key, const std::string& text) {
  std::vector<float> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    try {
      size_t used = 0;
      values.push_back(std::stof(item, &used));
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw std::invalid_argument(fmt::format("{}: metadata {}='{}' is not a number list", model_path, key, text));
    }
  }
  if (values.empty()) throw std::invalid_argument(fmt::format("{}: metadata {} is empty", model_path, key));
  for (float v : values)
    if (v != values[0])
      throw std::invalid_argument(fmt::format("{}: metadata {}='{}': per-channel values that differ are not supported by --data",
                                              model_path, key, text));
  return values[0];
}

}  // namespace

void check_input_shape(const std::string& what, const Shape& shape, const Shape& graph_input) {
  bool fits = shape.size() == graph_input.size() && !shape.empty() && shape[0] > 0;
  for (size_t i = 1; fits && i < shape.size(); ++i) fits = shape[i] == graph_input[i];
  if (!fits) {
    std::string expected = "[N";
    for (size_t i = 1; i < graph_input.size(); ++i) expected += fmt::format(", {}", graph_input[i]);
    throw std::invalid_argument(fmt::format("{}: shape {} does not fit the model's input {}]", what, shape_to_string(shape),
                                            expected));
  }
}

data::ImageDataset load_test_set_for(const std::string& model_path, const infer::Graph& graph, const std::string& dir) {
  data::ImageDataset test = data::load_dataset(dir, false);
  const auto mean = graph.metadata.find("sepnet.input_mean");
  const auto stddev = graph.metadata.find("sepnet.input_std");
  if (mean != graph.metadata.end()) test.mean = one_value(model_path, mean->first, mean->second);
  if (stddev != graph.metadata.end()) test.stddev = one_value(model_path, stddev->first, stddev->second);
  if (!(test.stddev > 0.0f)) throw std::invalid_argument(fmt::format("{}: metadata sepnet.input_std must be positive", model_path));
  // Square images of another side are resized as sepnet train resized them (bilinear,
  // core/data/resize.h); any other mismatch is reported by check_input_shape.
  const Shape& input = graph.values[graph.input].shape;
  if (input.size() == 4 && input[2] == input[3] && input[2] > 0 && test.rows == test.cols && input[2] != test.rows)
    test.resize_to(input[2]);
  return test;
}

bench::ThroughputResult measure_onnx_throughput(const std::string& path, const bench::ThroughputOptions& options) {
  infer::Graph graph = onnx::read_onnx_file(path);
  // Multiply-accumulates per image of the convolutions and matrix products, for GMAC/s.
  long long macs = 0;
  const std::vector<Shape> shapes = infer::infer_shapes(graph, 1);
  for (const auto& node : graph.nodes) {
    const Shape& out = shapes[node.output];
    const Shape& w = shapes[node.inputs.size() > 1 ? node.inputs[1] : node.inputs[0]];
    if (node.op == infer::OpKind::conv)
      macs += shape_numel(out) * w[1] * w[2] * w[3];
    else if (node.op == infer::OpKind::gemm || node.op == infer::OpKind::matmul)
      macs += shape_numel(out) * (node.op == infer::OpKind::gemm && node.attributes.trans_b ? w[1] : w[0]);
  }
  Shape shape = graph.values[graph.input].shape;
  shape[0] = options.batch;
  Tensor x = Tensor::empty(shape);
  std::mt19937 gen(1);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = normal(gen);
  bench::ThroughputResult r;
  r.model = path;
  r.input_size = shape.size() == 4 ? static_cast<int>(shape[3]) : 0;
  r.macs_per_image = macs;
  infer::Executor executor(std::move(graph));
  for (int i = 0; i < options.warmup; ++i) executor.run(x);
  using Clock = std::chrono::steady_clock;
  std::vector<double> ms;
  const auto start = Clock::now();
  do {
    const auto t0 = Clock::now();
    executor.run(x);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  } while (std::chrono::duration<double>(Clock::now() - start).count() < options.seconds || ms.size() < 3);
  std::sort(ms.begin(), ms.end());
  r.batches = static_cast<int>(ms.size());
  r.median_ms = ms[ms.size() / 2];
  r.images_per_second = options.batch / (r.median_ms / 1000.0);
  return r;
}

}  // namespace sepnet::app
