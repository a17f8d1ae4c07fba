// Kernel profile behind `sepnet bench`: every kernel family on this machine, timed on fixed
// shapes (MNIST training, MobileNet v1, square GEMMs) and set against the machine's measured
// FP32 peak and the measured bandwidth of the memory level that holds the case's working set
// (kernels/roofline.h).
//
// The cases are data: each names its family/kernel/shape, carries its FLOP count and the bytes
// that must move at minimum (inputs + outputs + weights; an accumulated buffer is read and
// written, so it counts twice), and a `prepare` that allocates and fills the buffers once and
// returns the run closure. Timing calls only that closure: nothing is allocated while timing.
// Each result names the kernel variant that ran (kernels/dispatch.h).
// Case lists: kernel_bench_cases.cpp; machine and timing: kernel_bench.cpp; reports:
// kernel_bench_report.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "sepnet/kernels/roofline.h"

namespace sepnet::bench {

struct KernelCase {
  std::string family;  // gemm, im2col, col2im, depthwise, pointwise, maxpool, batchnorm, relu, log_softmax
  std::string kernel;  // e.g. "sgemm NN", "forward", "backward_input"
  std::string shape;   // human-readable, e.g. "6x576x25 conv1 per image"
  double flops = 0;    // floating-point operations per call (an FMA is 2); 0 for pure data movement
  double bytes = 0;    // minimum bytes moved per call
  bool quick = false;  // part of the small --quick set
  // Allocates and fills the buffers, returns the closure that runs the kernel once on them.
  std::function<std::function<void()>()> prepare;
  // The name of the variant (kernels/dispatch.h) the dispatcher picks for this case under the
  // ISA active when called, e.g. "avx2_6x16"; empty for kernels without per-ISA variants.
  std::function<std::string()> variant;

  // "family/kernel/shape": what --filter matches against.
  std::string id() const { return family + "/" + kernel + "/" + shape; }
};

// Every case; with quick, a small set that still covers every family.
std::vector<KernelCase> kernel_cases(bool quick = false);
// The cases whose id() contains a match of `regex` (ECMAScript). Throws std::regex_error.
std::vector<KernelCase> filter_cases(const std::vector<KernelCase>& cases, const std::string& regex);

struct MachineInfo {
  std::string cpu_model;
  std::string isa;  // kernels::isa_name(kernels::active_isa())
  kernels::RooflineMachine roofline;  // threads, measured peak and per-level bandwidths, cache sizes
  double load_average = -1;  // 1-minute load average before the run (/proc/loadavg); < 0 if unknown
  int logical_cpus = 0;
};

// CPU model name from /proc/cpuinfo ("unknown CPU" if it cannot be read).
std::string cpu_model_name();
// The machine as kernels will run now: active ISA, available threads, measured peak, cache
// sizes and per-level bandwidths.
MachineInfo probe_machine();

struct BenchOptions {
  double min_time_s = 0.1;  // time spent in timed batches per case, at least
  int min_batches = 5;      // the median is over at least this many timed batches
};

struct KernelResult {
  std::string family, kernel, shape;
  std::string variant;  // the variant that ran ("" if the kernel has none)
  double flops = 0, bytes = 0;
  double median_us = 0;  // median over batches of (batch time / calls in batch)
  long calls_per_batch = 0;
  int batches = 0;
  double gflops = 0, gbs = 0;
  double pct_peak = 0;  // achieved FLOP/s / peak FLOP/s
  // The roofline of the level holding `bytes` (kernels::place_on_roofline): that level's name,
  // what bounds the roof ("compute" or "L2 bw"), and achieved FLOP/s / min(peak, bandwidth ·
  // flops/bytes); for 0-flop kernels GB/s / bandwidth.
  std::string level, bound;
  double pct_roofline = 0;
};

// Derived columns (GFLOP/s, GB/s, % peak, level, bound, % roofline) of a case that took
// `seconds` per call.
KernelResult make_result(const KernelCase& c, double seconds, const MachineInfo& machine);
// Warms up, picks calls per batch so a batch lasts about min_time/min_batches, then times
// batches until both min_time and min_batches are reached; reports the median.
KernelResult run_case(const KernelCase& c, const BenchOptions& options, const MachineInfo& machine);
// Runs each case in order; `progress(i, n, case)` is called before case i (may be empty).
std::vector<KernelResult> run_cases(
    const std::vector<KernelCase>& cases, const BenchOptions& options, const MachineInfo& machine,
    const std::function<void(size_t, size_t, const KernelCase&)>& progress = {});

// Header lines (CPU, ISA, threads, peak, cache sizes, per-level bandwidths), one string each, no newline.
std::vector<std::string> header_lines(const MachineInfo& machine);
// Aligned plain-text table (with the header lines above it).
std::string format_table(const std::vector<KernelResult>& results, const MachineInfo& machine);
std::string format_markdown(const std::vector<KernelResult>& results, const MachineInfo& machine);
// Header row + one row per result; fields with a comma or quote are quoted.
std::string format_csv(const std::vector<KernelResult>& results);
// Writes DIR/kernels.md and DIR/kernels.csv atomically (creates DIR). Returns the two paths.
std::vector<std::string> write_reports(const std::string& dir, const std::vector<KernelResult>& results,
                                       const MachineInfo& machine);

}  // namespace sepnet::bench
