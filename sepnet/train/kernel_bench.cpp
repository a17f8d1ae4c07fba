// `sepnet bench`, part 2 of 3 (kernel_bench.h): the machine (CPU, ISA, measured peak and
// per-level bandwidths) and the timing of one case. Case lists: kernel_bench_cases.cpp; reports:
// kernel_bench_report.cpp.
#include "sepnet/train/kernel_bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/machine_probe.h"
#include "sepnet/kernels/parallel.h"

namespace sepnet::bench {

// ---------------------------------------------------------------- machine
std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto start = line.find_first_not_of(" \t", colon + 1);
    if (start == std::string::npos) continue;
    return line.substr(start);
  }
  return "unknown CPU";
}

MachineInfo probe_machine() {
  MachineInfo m;
  m.cpu_model = cpu_model_name();
  m.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
  std::ifstream loadavg("/proc/loadavg");
  if (!(loadavg >> m.load_average)) m.load_average = -1;
  m.isa = kernels::isa_name(kernels::active_isa());
  if (kernels::active_isa() != kernels::best_supported_isa())
    m.isa += fmt::format(" (forced; best supported: {})", kernels::isa_name(kernels::best_supported_isa()));
  m.roofline = kernels::measure_roofline_machine(kernels::available_threads());
  return m;
}

// ---------------------------------------------------------------- timing
KernelResult make_result(const KernelCase& c, double seconds, const MachineInfo& machine) {
  KernelResult r;
  r.family = c.family;
  r.kernel = c.kernel;
  r.shape = c.shape;
  r.variant = c.variant ? c.variant() : std::string();
  r.flops = c.flops;
  r.bytes = c.bytes;
  r.median_us = seconds * 1e6;
  r.gflops = c.flops / seconds * 1e-9;
  r.gbs = c.bytes / seconds * 1e-9;
  const double peak = machine.roofline.peak_gflops;
  r.pct_peak = peak > 0 ? r.gflops / peak * 100.0 : 0.0;
  // The bench calls a case over and over on the same buffers: its working set stays in the
  // smallest level that holds it, and that level's bandwidth is the roof.
  const kernels::RooflinePoint point = kernels::place_on_roofline(machine.roofline, c.flops, c.bytes, seconds);
  r.level = kernels::level_name(point.level);
  r.bound = point.bound();
  r.pct_roofline = point.percent;
  return r;
}

KernelResult run_case(const KernelCase& c, const BenchOptions& options, const MachineInfo& machine) {
  const std::function<void()> run = c.prepare();
  using clock = std::chrono::steady_clock;
  auto time_calls = [&](long calls) {
    const auto start = clock::now();
    for (long i = 0; i < calls; ++i) run();
    return std::chrono::duration<double>(clock::now() - start).count();
  };

  time_calls(1);  // warm-up: first-touch page faults, caches, lazily built state
  const int min_batches = std::max(1, options.min_batches);
  const double batch_target = std::max(0.0, options.min_time_s) / min_batches;
  long calls = 1;
  double elapsed = time_calls(calls);
  constexpr long kMaxCalls = 1L << 30;
  while (elapsed < batch_target && calls < kMaxCalls) {
    // Grow towards the target in one step when the estimate is sane, bounded against clock noise.
    const double factor = elapsed > 0 ? std::clamp(batch_target / elapsed * 1.2, 2.0, 16.0) : 16.0;
    calls = std::min(kMaxCalls, static_cast<long>(std::ceil(calls * factor)));
    elapsed = time_calls(calls);
  }

  std::vector<double> per_call;
  double total = 0;
  while (static_cast<int>(per_call.size()) < min_batches || total < options.min_time_s) {
    const double t = time_calls(calls);
    per_call.push_back(t / calls);
    total += t;
  }
  std::sort(per_call.begin(), per_call.end());
  const size_t n = per_call.size();
  const double median = n % 2 ? per_call[n / 2] : 0.5 * (per_call[n / 2 - 1] + per_call[n / 2]);

  KernelResult r = make_result(c, median, machine);
  r.calls_per_batch = calls;
  r.batches = static_cast<int>(n);
  return r;
}

std::vector<KernelResult> run_cases(const std::vector<KernelCase>& cases, const BenchOptions& options,
                                    const MachineInfo& machine,
                                    const std::function<void(size_t, size_t, const KernelCase&)>& progress) {
  std::vector<KernelResult> results;
  results.reserve(cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    if (progress) progress(i, cases.size(), cases[i]);
    results.push_back(run_case(cases[i], options, machine));
  }
  return results;
}

}  // namespace sepnet::bench
