// sepnet bench: time every kernel family on this machine against its measured roofline.
// The cases, timing and report formats live in core/bench/kernel_bench.
#include <cstdio>
#include <memory>
#include <regex>
#include <stdexcept>
#include <unistd.h>

#include <fmt/format.h>

#include "apps/commands.h"
#include "sepnet/train/kernel_bench.h"

namespace sepnet::app {

void register_bench(CLI::App& app) {
  struct Options {
    std::string out = "runs/bench";
    std::string filter;
    double min_time = 0.1;
    bool quick = false;
    int threads = 0;
    std::string isa;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("bench", "kernel profile: time, GFLOP/s, GB/s and % of roofline per kernel and shape");
  cmd->add_option("--out", o->out, "directory for kernels.md and kernels.csv (default runs/bench)");
  cmd->add_option("--filter", o->filter, "only cases whose family/kernel/shape matches this regex");
  cmd->add_option("--min-time", o->min_time, "seconds of timed runs per kernel (default 0.1)")->check(CLI::Range(0.0, 60.0));
  cmd->add_flag("--quick", o->quick, "a few shapes per family only");
  add_machine_options(*cmd, o->threads, o->isa);
  cmd->callback([o] {
    apply_machine_options(o->threads, o->isa);
    std::vector<bench::KernelCase> cases = bench::kernel_cases(o->quick);
    if (!o->filter.empty()) {
      try {
        cases = bench::filter_cases(cases, o->filter);
      } catch (const std::regex_error& e) {
        throw std::runtime_error(fmt::format("--filter '{}' is not a valid regex: {}", o->filter, e.what()));
      }
      if (cases.empty()) throw std::runtime_error(fmt::format("no kernel case matches --filter '{}'", o->filter));
    }

    const bench::MachineInfo machine = bench::probe_machine();
    const bool tty = isatty(fileno(stderr));
    bench::BenchOptions options;
    options.min_time_s = o->min_time;
    auto results = bench::run_cases(cases, options, machine, [tty](size_t i, size_t n, const bench::KernelCase& c) {
      if (!tty) return;
      fmt::print(stderr, "\r{:<100}", fmt::format("[{}/{}] {}", i + 1, n, c.id()));
      std::fflush(stderr);
    });
    if (tty) fmt::print(stderr, "\r{:<100}\r", "");

    fmt::print("{}", bench::format_table(results, machine));
    const auto paths = bench::write_reports(o->out, results, machine);
    fmt::print("\nwrote {} and {}\n", paths[0], paths[1]);
  });
}

}  // namespace sepnet::app
