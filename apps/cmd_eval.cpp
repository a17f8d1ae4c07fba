// sepnet eval: test accuracy and confusion matrix of a checkpoint; optional logits dump.
#include <fmt/format.h>

#include <tuple>

#include "apps/commands.h"
#include "sepnet/core/checkpoint.h"
#include "sepnet/core/io/npy.h"
#include "sepnet/train/experiment.h"

namespace sepnet::app {

void register_eval(CLI::App& app) {
  struct Options {
    std::string checkpoint, data = "data/mnist", dump_logits, isa;
    int threads = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("eval", "accuracy and confusion matrix of a checkpoint on the test set");
  cmd->add_option("--checkpoint", o->checkpoint, "model.safetensors written by sepnet train")->required()->check(CLI::ExistingFile);
  cmd->add_option("--data", o->data, "directory with the IDX files");
  cmd->add_option("--dump-logits", o->dump_logits, "write the test logits as float32 .npy [N,10]");
  add_machine_options(*cmd, o->threads, o->isa);
  cmd->callback([o] {
    apply_machine_options(o->threads, o->isa);
    const Metadata meta = read_metadata(o->checkpoint);
    auto model = train::model_from_metadata(o->checkpoint, meta);
    load_model(o->checkpoint, *model);
    auto test = data::load_dataset(o->data, false);
    // The inputs the network was trained on: its normalization and image side.
    std::tie(test.mean, test.stddev) = train::normalization_from_metadata(o->checkpoint, meta);
    const models::ModelSpec spec = models::spec_from_metadata(o->checkpoint, meta);
    test.resize_to(spec.image_size);
    train::spec_for_data(spec, test, o->data + " (test set)");
    const auto ev = train::evaluate(*model, test, 256, !o->dump_logits.empty());
    fmt::print("{}: {} on {} ({} images): accuracy {:.2f}%  loss {:.4f}\n", o->checkpoint, model->describe(), o->data,
               test.size(), ev.accuracy, ev.loss);
    fmt::print("confusion matrix (rows: true class, columns: predicted)\n     ");
    for (int j = 0; j < 10; ++j) fmt::print("{:>6}", j);
    fmt::print("\n");
    for (int i = 0; i < 10; ++i) {
      fmt::print("{:>5}", i);
      for (int j = 0; j < 10; ++j) fmt::print("{:>6}", ev.confusion[i][j]);
      fmt::print("\n");
    }
    if (!o->dump_logits.empty()) {
      save_npy_f32(o->dump_logits, ev.logits.shape(), ev.logits.data());
      fmt::print("wrote logits {} to {}\n", shape_to_string(ev.logits.shape()), o->dump_logits);
    }
  });
}

}  // namespace sepnet::app
