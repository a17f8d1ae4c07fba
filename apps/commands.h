// The sepnet subcommands. Each registers its options on the CLI11 app and runs when chosen.
#pragma once
#include <string>

#include <CLI/CLI.hpp>

#include "sepnet/train/experiment.h"

namespace sepnet::app {

void register_train(CLI::App& app);
void register_compare(CLI::App& app);
void register_sweep(CLI::App& app);
void register_eval(CLI::App& app);
void register_info(CLI::App& app);
void register_bench(CLI::App& app);
void register_throughput(CLI::App& app);
void register_export(CLI::App& app);  // built with SEPNET_HAVE_ONNX
void register_run(CLI::App& app);     // built with SEPNET_HAVE_ONNX

// Shared: --threads and --isa, applied before a command runs.
void add_machine_options(CLI::App& command, int& threads, std::string& isa);
void apply_machine_options(int threads, const std::string& isa);

// Prints "epoch 2/5  batch 400/938  loss 0.1234  12345 img/s  ETA 3s" on one refreshed line.
void print_progress_line(const std::string& prefix, int epoch, int epochs, long batch, long batches, double loss,
                         double images_per_second, double eta_seconds);

// One run of an experiment (compare, sweep): reuses the finished run in config.out_dir unless
// `fresh`, else trains it with a progress line; then prints "<prefix>test accuracy ...".
train::RunResult train_or_reuse(const train::RunConfig& config, const data::ImageDataset& train_data,
                                const data::ImageDataset& test_data, const std::string& prefix, bool fresh);

}  // namespace sepnet::app
