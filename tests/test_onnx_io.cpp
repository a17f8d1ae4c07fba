// sepnet::onnx: every registered model exported to ONNX and read back computes what the model's
// own eval forward computes (reference evaluator and executor), and the hostile models of the
// fuzz seed corpus (fuzz/make_onnx_corpus.py) are refused with an error naming the file and the
// problem. The ONNX Runtime, PyTorch and node-test comparisons are tests/onnx_ort.sh,
// tests/onnx_torch.py and tests/onnx_node_tests.cpp.
#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <string>

#include <catch2/catch.hpp>

#include "sepnet/core/autograd.h"
#include "sepnet/core/random.h"
#include "sepnet/infer/executor.h"
#include "sepnet/models/registry.h"
#include "sepnet/onnx/onnx_reader.h"
#include "sepnet/onnx/onnx_writer.h"
#include "temp_dir.h"

using namespace sepnet;

namespace {

float max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  float worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(a.data()[i] - b.data()[i]));
  return worst;
}

Tensor random_tensor(const Shape& shape, Rng& rng) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.normal();
  return t;
}

}  // namespace

TEST_CASE("export then import computes the model's eval forward", "[onnx]") {
  std::vector<models::ModelSpec> specs;
  for (const char* name : {"cnn", "dw", "dwsep"})
    for (bool bn : {true, false}) specs.push_back(models::ModelSpec{.name = name, .batch_norm = bn});
  specs.push_back(models::ModelSpec{.name = "mobilenet", .width = 0.25f, .image_size = 32, .num_classes = 10});
  specs.push_back(models::ModelSpec{.name = "mobilenet", .width = 0.5f, .image_size = 28, .in_channels = 1, .num_classes = 10});
  testing::TempDir dir("onnx_io");
  for (const auto& requested : specs) {
    const models::ModelSpec spec = models::resolve_spec(requested);
    DYNAMIC_SECTION(models::spec_label(spec)) {
      Rng rng(11);
      auto model = models::build_model(spec, rng);
      // BatchNorm statistics away from 0 and 1, so that reading them wrong shows.
      for (auto& [name, buffer] : model->named_buffers()) {
        for (int64_t i = 0; i < buffer.numel(); ++i)
          buffer.data()[i] = name.find("var") != std::string::npos ? rng.uniform(0.5f, 1.5f) : 0.3f * rng.normal();
      }
      model->eval();
      const Tensor x = random_tensor(models::input_shape(spec, 3), rng);
      Tensor want;
      {
        NoGradGuard no_grad;
        want = model->forward(x).clone();
      }
      const std::string path = dir.file(spec.name + ".onnx");
      onnx::write_onnx_file(models::inference_graph(*model, spec, 0.2860f, 0.3530f), path);
      const infer::Graph graph = onnx::read_onnx_file(path);
      CHECK(graph.values[graph.input].name == "input");
      CHECK(graph.values[graph.output].name == "logits");
      CHECK(graph.values[graph.input].shape[0] == infer::kBatch);
      CHECK(graph.metadata.at("sepnet.input_mean").rfind("0.286", 0) == 0);
      CHECK(graph.metadata.at("sepnet.input_std").rfind("0.353", 0) == 0);
      CHECK(graph.metadata.at("sepnet.model") == spec.name);
      const float tolerance = 1e-4f;
      CHECK(max_abs_diff(infer::run_reference(graph, x), want) <= tolerance);
      infer::Executor executor(graph);
      CHECK(max_abs_diff(executor.run(x), want) <= tolerance);
      // The batch is symbolic: a batch of 1 runs through the same graph.
      Tensor one = Tensor::empty({1, x.shape()[1], x.shape()[2], x.shape()[3]});
      std::copy_n(x.data(), one.numel(), one.data());
      const Tensor y1 = executor.run(one);
      CHECK(y1.shape() == Shape{1, want.shape()[1]});
      for (int64_t j = 0; j < want.shape()[1]; ++j) CHECK(std::abs(y1.data()[j] - want.data()[j]) <= tolerance);
    }
  }
}

TEST_CASE("hostile ONNX files are refused with an error naming the file and the problem", "[onnx]") {
  const std::string corpus = SEPNET_ONNX_CORPUS_DIR;
  const std::map<std::string, std::string> expected = {
      {"bad_truncated.onnx", "does not parse"},
      {"bad_short_tensor_data.onnx", "bytes of raw data but its dims"},
      {"bad_negative_dim.onnx", "is negative"},
      {"bad_huge_dims.onnx", "elements"},
      {"bad_huge_input.onnx", "elements"},
      {"bad_cycle.onnx", "which no earlier node, initializer or input produces"},
      {"bad_external_data.onnx", "external data is not supported"},
      {"bad_int32_weight.onnx", "dtype INT32 is not supported"},
      {"bad_unknown_op.onnx", "(LeakyRelu): operator is not supported"},
      {"bad_opset_18.onnx", "opset 18 of the default domain is not supported"},
  };
  for (const auto& [file, fragment] : expected) {
    const std::string path = corpus + "/" + file;
    INFO(path);
    try {
      onnx::read_onnx_file(path);
      FAIL("read without an error");
    } catch (const std::exception& e) {
      const std::string message = e.what();
      INFO(message);
      CHECK(message.rfind(path + ": ", 0) == 0);
      CHECK(message.find(fragment) != std::string::npos);
    }
  }
}

TEST_CASE("auto_pad SAME_UPPER pads as ONNX defines it; an unused initializer is ignored", "[onnx]") {
  const std::string corpus = SEPNET_ONNX_CORPUS_DIR;
  const infer::Graph same = onnx::read_onnx_file(corpus + "/valid_auto_pad_same_upper.onnx");
  REQUIRE(same.nodes.size() == 1);
  // 8x8 input, 3x3 kernel, stride 1: output 8x8, one pixel of padding on each side.
  CHECK(same.nodes[0].attributes.pads == std::array<int, 4>{1, 1, 1, 1});
  const infer::Graph unused = onnx::read_onnx_file(corpus + "/unused_initializer.onnx");
  CHECK(std::none_of(unused.values.begin(), unused.values.end(), [](const infer::Value& v) { return v.name == "unused"; }));
}

TEST_CASE("the shape arithmetic of x.view(x.size(0), -1) folds to one reshape at load time", "[onnx]") {
  const infer::Graph g = onnx::read_onnx_file(std::string(SEPNET_ONNX_CORPUS_DIR) + "/valid_shape_arithmetic.onnx");
  REQUIRE(g.nodes.size() == 3);  // Reshape, MatMul, Add: Shape/Gather/Unsqueeze/Concat/Constant evaluated, Identity an alias
  CHECK(g.nodes[0].op == infer::OpKind::reshape);
  CHECK(g.nodes[0].attributes.shape == std::vector<int64_t>{0, -1});
  Rng rng(5);
  const Tensor x = random_tensor({4, 3, 2, 2}, rng);
  const Tensor y = infer::run_reference(g, x);
  CHECK(y.shape() == Shape{4, 4});
}
