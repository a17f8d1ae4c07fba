// sepnet: command-line entry point. Thin wiring only; the work lives in core/ and models/.
#include <cstdio>
#include <exception>
#include <optional>
#include <malloc.h>
#include <unistd.h>

#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/distributed.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/parallel.h"

namespace sepnet::app {

void add_machine_options(CLI::App& command, int& threads, std::string& isa) {
  command.add_option("--threads", threads, "OpenMP threads (default: all cores)")->check(CLI::Range(1, 1024));
  command.add_option("--isa", isa, "force a kernel path: avx512, avx2 or scalar (default: best supported; env SEPNET_ISA)")
      ->check(CLI::IsMember({"avx512", "avx2", "scalar"}));
}

void apply_machine_options(int threads, const std::string& isa) {
  if (threads > 0) kernels::set_num_threads(threads);
  if (!isa.empty()) kernels::set_active_isa(*kernels::parse_isa(isa));
}

void print_progress_line(const std::string& prefix, int epoch, int epochs, long batch, long batches, double loss,
                         double images_per_second, double eta_seconds) {
  const bool tty = isatty(fileno(stderr));
  std::string line = fmt::format("{}epoch {}/{}  batch {}/{}  loss {:.4f}  {:.0f} img/s  ETA {:.0f}s", prefix, epoch,
                                 epochs, batch, batches, loss, images_per_second, eta_seconds);
  if (tty)
    fmt::print(stderr, "\r{:<100}", line);
  else if (batch == batches)
    fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

train::RunResult train_or_reuse(const train::RunConfig& config, const data::ImageDataset& train_data,
                                const data::ImageDataset& test_data, const std::string& prefix, bool fresh) {
  std::optional<train::RunResult> run = fresh ? std::nullopt : train::load_finished_run(config, train_data.size());
  if (run) {
    fmt::print("{}already trained in {} (reused; --fresh retrains)\n", prefix, config.out_dir);
  } else {
    auto progress = [&](const train::Progress& p) {
      print_progress_line(prefix, p.epoch, p.epochs, p.batch, p.batches, p.loss, p.images_per_second, p.eta_seconds);
    };
    run = train::run_training(config, train_data, test_data, progress);
    fmt::print(stderr, "\n");
  }
  fmt::print("{}test accuracy {:.2f}% ({:.0f} img/s)\n", prefix, run->final_test_accuracy(),
             run->epochs.back().train.images_per_second);
  std::fflush(stdout);  // one line per run, visible as it happens even when piped
  return *run;
}

}  // namespace sepnet::app

int main(int argc, char** argv) {
  // Keep freed buffers in the heap instead of unmapping them: training reallocates the same
  // sizes every step, and a fresh mmap costs a page fault per 4 KiB touched.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"sepnet: depthwise-separable networks on the CPU (MNIST comparison, MobileNet kernels)"};
  app.require_subcommand(1);
  sepnet::app::register_train(app);
  sepnet::app::register_compare(app);
  sepnet::app::register_sweep(app);
  sepnet::app::register_eval(app);
  sepnet::app::register_info(app);
  sepnet::app::register_bench(app);
  sepnet::app::register_throughput(app);
#ifdef SEPNET_HAVE_ONNX
  sepnet::app::register_export(app);
  sepnet::app::register_run(app);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    fmt::print(stderr, "\nsepnet: error: {}\n", e.what());
    std::fflush(stderr);
    sepnet::app::stop_other_ranks(1);
    return 1;
  }
  sepnet::app::leave_mpi_job();
  return 0;
}
