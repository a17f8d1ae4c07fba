// What `sepnet run` and `sepnet throughput --onnx` share: the input checks and the test set
// normalized the way the model expects.
#pragma once
#include <string>

#include "sepnet/core/data/dataset.h"
#include "sepnet/infer/graph.h"

namespace sepnet::app {

// Throws std::invalid_argument naming `what` unless `shape` is [N, ...] with the graph input's
// fixed dimensions.
void check_input_shape(const std::string& what, const Shape& shape, const Shape& graph_input);
// The IDX test set in `dir`, normalized with the model's "sepnet.input_mean"/"sepnet.input_std"
// metadata when it has them (one value, or one per channel all equal), else MNIST's constants.
data::ImageDataset load_test_set_for(const std::string& model_path, const infer::Graph& graph, const std::string& dir);

}  // namespace sepnet::app

#include "sepnet/train/model_throughput.h"

namespace sepnet::app {

// `sepnet throughput --onnx`: the model read from `path`, run by the executor on random batches
// of options.batch in its input shape; warm-up, timing and median as bench::measure_throughput.
bench::ThroughputResult measure_onnx_throughput(const std::string& path, const bench::ThroughputOptions& options);

}  // namespace sepnet::app
