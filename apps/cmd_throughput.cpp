// sepnet throughput: images/s of one model (inference or training step) on random inputs.
// The measurement lives in core/bench/model_throughput.
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/commands.h"
#include "apps/model_options.h"
#ifdef SEPNET_HAVE_ONNX
#include "apps/onnx_input.h"
#endif
#include "sepnet/train/model_throughput.h"
#include "sepnet/core/profiler.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/parallel.h"

namespace sepnet::app {

void register_throughput(CLI::App& app) {
  struct Options {
    bench::ThroughputOptions run;
    std::string mode = "infer";
    bool json = false, profile = false;
    int threads = 0;
    std::string isa, onnx;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("throughput", "images/s of a whole model: inference or training step");
  add_model_options(*cmd, o->run.model, "mobilenet");
  cmd->add_option("--batch", o->run.batch, "images per batch")->check(CLI::PositiveNumber);
  cmd->add_option("--mode", o->mode, "infer (eval, no graph) | train (forward, loss, backward, SGD step)")
      ->check(CLI::IsMember({"infer", "train"}));
  cmd->add_option("--engine", o->run.engine,
                  "inference engine: autograd (the model's eval forward) | graph (the inference-graph executor: "
                  "BN folded, activations fused, planned arenas; docs/inference.md)")
      ->check(CLI::IsMember({"autograd", "graph"}));
  cmd->add_option("--seconds", o->run.seconds, "timed seconds after warm-up (median batch time is reported)")
      ->check(CLI::Range(0.1, 600.0));
  cmd->add_flag("--json", o->json, "print one JSON object instead of a sentence");
  cmd->add_flag("--profile", o->profile,
                "also print the per-layer forward/backward time of the timed batches (the profiler's own "
                "timing adds a little to the images/s)");
#ifdef SEPNET_HAVE_ONNX
  cmd->add_option("--onnx", o->onnx, "measure this ONNX model (read by sepnet run's importer) instead of --model; "
                                     "inference only")->check(CLI::ExistingFile);
#endif
  add_machine_options(*cmd, o->threads, o->isa);
  cmd->callback([o] {
    apply_machine_options(o->threads, o->isa);
    o->run.train = o->mode == "train";
    if (!o->onnx.empty() && o->run.train) throw std::invalid_argument("sepnet throughput: --onnx measures inference only");
    profiler::set_enabled(o->profile);
#ifdef SEPNET_HAVE_ONNX
    const bench::ThroughputResult r =
        o->onnx.empty() ? bench::measure_throughput(o->run) : measure_onnx_throughput(o->onnx, o->run);
#else
    const bench::ThroughputResult r = bench::measure_throughput(o->run);
#endif
    profiler::set_enabled(false);
    const int threads = kernels::available_threads();
    if (o->json) {
      nlohmann::json j{{"model", r.model},       {"mode", o->mode},           {"engine", o->run.engine}, {"batch", o->run.batch},
                       {"input", r.input_size},  {"threads", threads},        {"isa", kernels::isa_name(kernels::active_isa())},
                       {"batches", r.batches},   {"median_ms", r.median_ms},  {"images_per_second", r.images_per_second},
                       {"macs_per_image", r.macs_per_image}};
      fmt::print("{}\n", j.dump());
      return;
    }
    if (o->run.engine == "graph") o->mode += " (graph executor)";
    fmt::print("{} {} batch {} input {}x{}: {:.1f} images/s ({:.2f} ms per batch, median of {}; {:.1f} GMAC/s; {} threads, {})\n",
               r.model, o->mode, o->run.batch, r.input_size, r.input_size, r.images_per_second, r.median_ms,
               r.batches, r.images_per_second * static_cast<double>(r.macs_per_image) / 1e9, threads,
               kernels::isa_name(kernels::active_isa()));
    if (o->profile)
      fmt::print("\nper-layer profile (mean per batch over warm-up and timed batches):\n{}",
                 profiler::report_markdown(profiler::snapshot(), r.batches + o->run.warmup, kernels::measure_roofline_machine(threads)));
  });
}

}  // namespace sepnet::app
