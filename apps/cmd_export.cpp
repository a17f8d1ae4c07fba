// sepnet export: a checkpoint (or a freshly initialized model) written as an ONNX model, opset 13
// (docs/onnx.md). The network is lowered to an inference graph by the model registry and the graph
// written by sepnet::onnx.
#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/model_options.h"
#include "sepnet/core/checkpoint.h"
#include "sepnet/core/data/dataset.h"
#include "sepnet/models/registry.h"
#include "sepnet/onnx/onnx_writer.h"
#include "sepnet/train/experiment.h"

namespace sepnet::app {

void register_export(CLI::App& app) {
  struct Options {
    std::string checkpoint, out;
    models::ModelSpec spec;
    uint64_t seed = 1;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("export", "write a checkpoint (or, without --checkpoint, the --model network with random weights) as an ONNX model (opset 13, dynamic batch)");
  cmd->add_option("--checkpoint", o->checkpoint, "model.safetensors written by sepnet train")->check(CLI::ExistingFile);
  cmd->add_option("--out", o->out, "the .onnx file to write")->required();
  add_model_options(*cmd, o->spec, "cnn");
  cmd->add_option("--seed", o->seed, "without --checkpoint: the seed of the random initial weights");
  cmd->callback([o] {
    models::ModelSpec spec;
    std::unique_ptr<nn::Module> model;
    // The normalization the network was trained with goes into the ONNX metadata; a model with
    // random weights gets MNIST's.
    std::pair<float, float> normalization{data::kMnistMean, data::kMnistStd};
    if (!o->checkpoint.empty()) {
      const Metadata meta = read_metadata(o->checkpoint);
      normalization = train::normalization_from_metadata(o->checkpoint, meta);
      spec = models::resolve_spec(models::spec_from_metadata(o->checkpoint, meta));
      Rng rng(0);
      model = models::build_model_for_checkpoint(spec, rng, o->checkpoint);
      load_model(o->checkpoint, *model);
    } else {
      spec = models::resolve_spec(o->spec);
      Rng rng(o->seed);
      model = models::build_model(spec, rng);
    }
    model->eval();
    const infer::Graph graph = models::inference_graph(*model, spec, normalization.first, normalization.second);
    onnx::write_onnx_file(graph, o->out, spec.name);
    fmt::print("{}: {} ({} nodes, {} values) -> {}\n", o->checkpoint.empty() ? "random init" : o->checkpoint,
               models::spec_label(spec), graph.nodes.size(), graph.values.size(), o->out);
  });
}

}  // namespace sepnet::app
