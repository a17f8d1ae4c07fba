// sepnet run: an ONNX model read into an inference graph and run on sepnet's kernels, on an IDX
// test set (accuracy) or on a .npy input (logits to .npy). docs/onnx.md.
#include <chrono>
#include <sstream>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/onnx_input.h"
#include "sepnet/core/data/dataset.h"
#include "sepnet/core/io/npy.h"
#include "sepnet/core/io/npy_reader.h"
#include "sepnet/infer/executor.h"
#include "sepnet/onnx/onnx_reader.h"

namespace sepnet::app {
namespace {

// The batched forward pass over `x` [N, ...]: the optimized executor, or the plain-loop reference.
Tensor run_batches(const infer::Graph& graph, const Tensor& x, int batch, bool reference) {
  std::unique_ptr<infer::Executor> executor;
  if (!reference) executor = std::make_unique<infer::Executor>(graph);
  const int64_t n = x.shape()[0];
  const int64_t per_image = n > 0 ? x.numel() / n : 0;
  Tensor out;
  int64_t out_per_image = 0;
  for (int64_t start = 0; start < n; start += batch) {
    const int64_t rows = std::min<int64_t>(batch, n - start);
    Shape shape = x.shape();
    shape[0] = rows;
    Tensor chunk = Tensor::empty(shape);
    std::copy_n(x.data() + start * per_image, rows * per_image, chunk.data());
    const Tensor y = reference ? infer::run_reference(graph, chunk) : executor->run(chunk);
    if (!out.defined()) {
      Shape out_shape = y.shape();
      out_shape[0] = n;
      out = Tensor::empty(out_shape);
      out_per_image = y.numel() / rows;
    }
    std::copy_n(y.data(), rows * out_per_image, out.data() + start * out_per_image);
  }
  return out;
}

}  // namespace

void register_run(CLI::App& app) {
  struct Options {
    std::string model, data, input, out, isa;
    int batch = 256, threads = 0;
    bool reference = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("run", "run an ONNX model: accuracy on an IDX test set, or logits of a .npy input");
  cmd->add_option("model", o->model, "model.onnx (opset 13 to 17, the operators docs/onnx.md lists)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", o->data, "directory with IDX test files: prints the accuracy");
  cmd->add_option("--input", o->input, "float32 .npy input [N, ...] in the model's input shape");
  cmd->add_option("--out", o->out, "with --input: write the model's output as float32 .npy");
  cmd->add_option("--batch", o->batch, "images per forward pass")->check(CLI::PositiveNumber);
  cmd->add_flag("--reference", o->reference, "run the plain-loop reference evaluator instead of the optimized executor");
  add_machine_options(*cmd, o->threads, o->isa);
  cmd->callback([o] {
    apply_machine_options(o->threads, o->isa);
    if (o->data.empty() == o->input.empty()) throw std::invalid_argument("sepnet run: give one of --data DIR or --input x.npy");
    if (!o->out.empty() && o->input.empty()) throw std::invalid_argument("sepnet run: --out needs --input");
    const infer::Graph graph = onnx::read_onnx_file(o->model);
    const Shape& input_shape = graph.values[graph.input].shape;
    if (!o->input.empty()) {
      const Tensor x = load_npy_f32(o->input);
      check_input_shape(o->input, x.shape(), input_shape);
      const auto start = std::chrono::steady_clock::now();
      const Tensor y = run_batches(graph, x, o->batch, o->reference);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      fmt::print("{}: {} -> {} in {:.3f} s\n", o->model, shape_to_string(x.shape()), shape_to_string(y.shape()), seconds);
      if (!o->out.empty()) {
        save_npy_f32(o->out, y.shape(), y.data());
        fmt::print("wrote {}\n", o->out);
      }
      return;
    }
    const data::ImageDataset test = load_test_set_for(o->model, graph, o->data);
    const Tensor x = test.normalized_images();
    check_input_shape(o->data, x.shape(), input_shape);
    const Tensor y = run_batches(graph, x, o->batch, o->reference);
    if (y.ndim() != 2) throw std::invalid_argument(fmt::format("{}: output {} is not [N, classes]", o->model, shape_to_string(y.shape())));
    const int64_t classes = y.shape()[1];
    int64_t correct = 0;
    for (int64_t i = 0; i < test.size(); ++i) {
      const float* row = y.data() + i * classes;
      correct += std::max_element(row, row + classes) - row == test.labels[i];
    }
    fmt::print("{} on {} ({} images): accuracy {:.2f}%\n", o->model, o->data, test.size(),
               100.0 * static_cast<double>(correct) / static_cast<double>(test.size()));
  });
}

}  // namespace sepnet::app
