// sepnet compare: the write-up's experiment over models × BN × seeds, per recipe; prints the
// table and writes it as Markdown, with the pictures (compare_charts.h) as SVG and PNG.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/model_options.h"
#include "sepnet/core/io/atomic_file.h"
#include "sepnet/train/compare.h"
#include "sepnet/train/compare_charts.h"
#include "sepnet/train/png_export.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/parallel.h"

namespace sepnet::app {

namespace {
bool has_no_bn_variant(const std::string& model) {
  try {
    models::find_model(model).resolve(models::ModelSpec{.name = model, .batch_norm = false});
    return true;
  } catch (const std::invalid_argument&) {
    return false;
  }
}
}  // namespace

void register_compare(CLI::App& app) {
  struct Options {
    std::vector<std::string> recipes{"seed", "standard"}, models{"cnn", "dw", "dwsep"};
    std::vector<uint64_t> seeds{1, 2, 3};
    std::string data = "data/mnist", out = "runs/compare", isa;
    int epochs = 0, threads = 0;
    long max_train = -1;
    bool fresh = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("compare", "the write-up's experiment: cnn vs dw (and dwsep), with and without BN, over seeds");
  cmd->add_option("--recipe", o->recipes, "recipes to run (default: seed standard)")->check(CLI::IsMember({"seed", "standard"}));
  cmd->add_option("--models", o->models, "registered models (default: cnn dw dwsep); each with and without BN where it has both")
      ->check(CLI::Validator(
          [](std::string& m) { return models::has_model(m) ? std::string() : "unknown model (registered: " + model_choices() + ")"; },
          "MODEL"));
  cmd->add_option("--seeds", o->seeds, "seeds (default: 1 2 3)");
  cmd->add_option("--epochs", o->epochs, "epochs (default: the recipe's)")->check(CLI::PositiveNumber);
  cmd->add_option("--data", o->data, "directory with the IDX files");
  cmd->add_option("--out", o->out, "output directory (runs, table.md, curves.svg)");
  cmd->add_option("--max-train", o->max_train, "use only the first N training images")->check(CLI::PositiveNumber);
  cmd->add_flag("--fresh", o->fresh, "retrain runs that already finished in --out (default: reuse them)");
  add_machine_options(*cmd, o->threads, o->isa);
  cmd->callback([o] {
    namespace fs = std::filesystem;
    apply_machine_options(o->threads, o->isa);
    auto train_data = data::load_dataset(o->data, true, o->max_train);
    auto test_data = data::load_dataset(o->data, false);
    train::fit_data_to_model({}, train_data, test_data);
    size_t variants = 0;
    for (const std::string& model : o->models) variants += has_no_bn_variant(model) ? 2 : 1;
    const size_t total = o->recipes.size() * variants * o->seeds.size();
    fmt::print("sepnet compare: {} runs ({} recipes × {} model variants (BN on/off) × {} seeds) on {} training images, "
               "{} threads, kernels {}\n",
               total, o->recipes.size(), variants, o->seeds.size(), train_data.size(),
               kernels::available_threads(), kernels::isa_name(kernels::active_isa()));
    const auto start = std::chrono::steady_clock::now();
    std::vector<train::CompareRow> rows;
    size_t done = 0;
    int epochs_run = 0;
    for (const std::string& recipe_name : o->recipes) {
      const auto recipe = *train::find_recipe(recipe_name);
      for (const std::string& model : o->models)
        for (bool bn : {true, false}) {
          if (!bn && !has_no_bn_variant(model)) continue;
          std::vector<train::RunResult> runs;
          for (uint64_t seed : o->seeds) {
            train::RunConfig c = train::config_from_recipe(recipe);
            if (o->epochs > 0) c.epochs = o->epochs;
            epochs_run = c.epochs;
            c.model.name = model;
            c.model.batch_norm = bn;
            c.seed = seed;
            c.overwrite = true;  // compare owns these directories; a finished run is reused above
            c.out_dir = (fs::path(o->out) / recipe_name / fmt::format("{}-{}-seed{}", model, bn ? "bn" : "nobn", seed)).string();
            const std::string prefix = fmt::format("[{}/{}] {} {}{} seed {}: ", ++done, total, recipe_name, model,
                                                   bn ? "+BN" : " no BN", seed);
            runs.push_back(train_or_reuse(c, train_data, test_data, prefix, o->fresh));
          }
          rows.push_back(train::summarize(recipe_name, model, bn, runs));
        }
    }
    const std::string table = train::markdown_table(rows, o->seeds, epochs_run);
    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60.0;
    fs::create_directories(o->out);
    double training_minutes = 0;
    for (const auto& r : rows) training_minutes += r.train_seconds_total / 60.0;
    const std::string note = fmt::format(
        "\ntraining time {:.1f} min summed over all runs (runs reused from earlier invocations included); this "
        "invocation {:.1f} min wall; {} threads, {} kernels.\n",
        training_minutes, minutes, kernels::available_threads(), kernels::isa_name(kernels::active_isa()));
    write_file_atomically((fs::path(o->out) / "table.md").string(), table + note);
    // One column per recipe: every seed's curve above every seed's final accuracy; below them
    // the per-digit recall of the run stuck furthest below its variant's best seed.
    std::vector<LineChart> charts;
    for (const std::string& recipe_name : o->recipes) charts.push_back(train::accuracy_chart(recipe_name, rows));
    for (const std::string& recipe_name : o->recipes) charts.push_back(train::final_accuracy_chart(recipe_name, rows));
    // The seed recipe is the one whose runs get stuck; another recipe is searched when it is not run.
    const bool has_seed = std::find(o->recipes.begin(), o->recipes.end(), "seed") != o->recipes.end();
    const std::string plateau_recipe = has_seed ? "seed" : o->recipes.front();
    if (const auto stuck = train::find_plateau_run(rows, plateau_recipe)) {
      const auto recall = train::recall_per_class(train::confusion_of_run(stuck->run_dir, test_data));
      charts.push_back(train::recall_chart(*stuck, recall));
      fmt::print("recall per digit of {} ({:.2f}%, its best seed {:.2f}%):", stuck->name(), stuck->accuracy,
                 stuck->best_seed_accuracy);
      for (size_t d = 0; d < recall.size(); ++d) fmt::print(" {}:{:.1f}", d, recall[d]);
      fmt::print("\n");
    } else {
      fmt::print("no run of recipe '{}' ended 3 points or more below its variant's best seed: no recall panel\n",
                 plateau_recipe);
    }
    const std::string svg = (fs::path(o->out) / "curves.svg").string();
    write_svg_panels(svg, charts, static_cast<int>(o->recipes.size()));
    const auto png = write_png_beside(svg);
    fmt::print("\n{}{}\nwrote {}/table.md and {}{}\n", table, note, o->out, svg, png ? " and " + *png : "");
  });
}

}  // namespace sepnet::app
