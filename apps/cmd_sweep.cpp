// sepnet sweep: the MobileNet paper's ablations (separable vs full conv, width α, input size)
// on an IDX image set over seeds; prints the tables, writes table.md and accuracy_vs_macs.svg.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "apps/commands.h"
#include "sepnet/core/io/atomic_file.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/train/mobilenet_sweep.h"
#include "sepnet/train/png_export.h"

namespace sepnet::app {

void register_sweep(CLI::App& app) {
  struct Options {
    train::SweepConfig sweep;
    std::string data = "/usr/share/datasets/fashion-mnist", out = "runs/mobilenet-sweep", isa;
    int epochs = 8, batch = 64, threads = 0;
    float lr = 2e-3f;
    long train_images = 5000, test_images = 5000;
    bool fresh = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "sweep", "MobileNet's ablations over seeds: separable vs full conv, width α, input size (docs/results.md)");
  cmd->add_option("--data", o->data, "directory with the IDX files (default: Debian's Fashion-MNIST)");
  cmd->add_option("--out", o->out, "output directory (runs, table.md, accuracy_vs_macs.svg)");
  cmd->add_option("--seeds", o->sweep.seeds, "seeds (default: 1 2 3)");
  cmd->add_option("--epochs", o->epochs, "epochs per run (default 8)")->check(CLI::PositiveNumber);
  cmd->add_option("--train-images", o->train_images, "use the first N training images (default 5000)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--test-images", o->test_images, "use the first N test images (default 5000)")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", o->batch, "batch size (default 64)")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", o->lr, "Adam's peak learning rate, cosine-decayed over the epochs (default 0.002)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--widths", o->sweep.widths, "width multipliers at --base-size (default: 1 0.75 0.5 0.25)")
      ->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--image-sizes", o->sweep.image_sizes, "input sides at --size-width (default: 32 48 64)")
      ->check(CLI::Range(16, 512));
  cmd->add_option("--base-size", o->sweep.base_image_size, "input side of the conv and width studies (default 32)")
      ->check(CLI::Range(16, 512));
  cmd->add_option("--size-width", o->sweep.size_width, "α of the input-size study (default 0.5)")->check(CLI::Range(0.01, 1.0));
  cmd->add_flag("--fresh", o->fresh, "retrain runs that already finished in --out (default: reuse them)");
  add_machine_options(*cmd, o->threads, o->isa);
  cmd->callback([o] {
    namespace fs = std::filesystem;
    apply_machine_options(o->threads, o->isa);
    auto train_data = data::load_dataset(o->data, true, o->train_images);
    auto test_data = data::load_dataset(o->data, false, o->test_images);
    const std::vector<train::SweepCell> cells = train::sweep_cells(o->sweep);
    const size_t total = cells.size() * o->sweep.seeds.size();
    const std::string recipe =
        fmt::format("Adam lr {} with cosine decay over {} epochs, batch {}, cross-entropy, {} training and {} test images "
                    "of {}, resized bilinearly, normalized with mean {} std {}",
                    o->lr, o->epochs, o->batch, train_data.size(), test_data.size(), o->data, train_data.mean,
                    train_data.stddev);
    fmt::print("sepnet sweep: {} runs ({} networks × {} seeds); {}; {} threads, kernels {}\n", total, cells.size(),
               o->sweep.seeds.size(), recipe, kernels::available_threads(), kernels::isa_name(kernels::active_isa()));
    const auto start = std::chrono::steady_clock::now();
    std::vector<train::SweepRow> rows;
    size_t done = 0;
    for (const train::SweepCell& cell : cells) {
      models::ModelSpec spec{.name = "mobilenet", .width = cell.width, .image_size = cell.image_size};
      spec.conv = cell.conv;
      train::fit_data_to_model(spec, train_data, test_data);
      spec = train::spec_for_data(spec, train_data, train::data_name(train_data, "training data"));
      std::vector<train::RunResult> runs;
      for (uint64_t seed : o->sweep.seeds) {
        train::RunConfig c;
        c.recipe = "sweep";
        c.optimizer = "adam";
        c.lr = o->lr;
        c.lr_schedule = "cosine";
        c.loss = "ce";
        c.batch = o->batch;
        c.epochs = o->epochs;
        c.model = spec;
        c.seed = seed;
        c.overwrite = true;  // sweep owns these directories; a finished run is reused below
        c.out_dir = (fs::path(o->out) / fmt::format("{}-seed{}", cell.name(), seed)).string();
        const std::string prefix = fmt::format("[{}/{}] mobilenet α {} {} px {} seed {}: ", ++done, total, cell.width,
                                               cell.image_size, cell.conv, seed);
        runs.push_back(train_or_reuse(c, train_data, test_data, prefix, o->fresh));
      }
      rows.push_back(train::summarize_cell(cell, runs));
    }
    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60.0;
    double training_minutes = 0;
    for (const auto& r : rows) training_minutes += r.train_seconds_total / 60.0;
    const std::string tables = train::sweep_tables_markdown(o->sweep, rows, recipe);
    const std::string note = fmt::format(
        "\ntraining time {:.1f} min summed over all runs (reused runs included); this invocation {:.1f} min wall; {} "
        "threads, {} kernels.\n",
        training_minutes, minutes, kernels::available_threads(), kernels::isa_name(kernels::active_isa()));
    fs::create_directories(o->out);
    const std::string table_path = (fs::path(o->out) / "table.md").string();
    const std::string svg_path = (fs::path(o->out) / "accuracy_vs_macs.svg").string();
    write_file_atomically(table_path, tables + note);
    write_scatter_svg(svg_path, train::sweep_chart(o->sweep, rows, fs::path(o->data).filename().string()));
    const auto png_path = write_png_beside(svg_path);
    fmt::print("\n{}{}\nwrote {}, {}{}\n", tables, note, table_path, svg_path, png_path ? " and " + *png_path : "");
  });
}

}  // namespace sepnet::app
