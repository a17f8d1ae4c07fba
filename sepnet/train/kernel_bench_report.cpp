// `sepnet bench`, part 3 of 3 (kernel_bench.h): the reports — aligned text, Markdown and CSV.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "sepnet/core/io/atomic_file.h"
#include "sepnet/train/kernel_bench.h"

namespace sepnet::bench {
namespace {

std::string format_number(double x) {
  if (!std::isfinite(x)) return "-";
  const double a = std::fabs(x);
  if (a >= 100) return fmt::format("{:.0f}", x);
  if (a >= 10) return fmt::format("{:.1f}", x);
  return fmt::format("{:.2f}", x);
}

const std::vector<std::string>& column_names() {
  static const std::vector<std::string> names{"family", "kernel", "shape", "variant", "time µs", "GFLOP/s",
                                              "GB/s",   "% peak", "level",   "bound",   "% roofline"};
  return names;
}
// Text columns (family, kernel, shape, variant, level, bound) are left-aligned; numbers right-aligned.
bool is_text_column(size_t j) { return j < 4 || column_names()[j] == "level" || column_names()[j] == "bound"; }

std::vector<std::string> cells(const KernelResult& r) {
  const bool has_flops = r.flops > 0;
  return {r.family,
          r.kernel,
          r.shape,
          r.variant.empty() ? "-" : r.variant,
          format_number(r.median_us),
          has_flops ? format_number(r.gflops) : "-",
          format_number(r.gbs),
          has_flops ? fmt::format("{:.1f}", r.pct_peak) : "-",
          r.level,
          r.bound,
          fmt::format("{:.1f}", r.pct_roofline)};
}

// Display width in code points (the headers hold "µ"), enough for alignment here.
size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s)
    if ((ch & 0xC0) != 0x80) ++n;
  return n;
}

std::string pad(const std::string& s, size_t width, bool left_align) {
  const size_t w = display_width(s);
  const std::string fill(width > w ? width - w : 0, ' ');
  return left_align ? s + fill : fill + s;
}

// "48 KiB", "1 MiB".
std::string format_size(long bytes) {
  if (bytes >= (1L << 20) && bytes % (1L << 20) == 0) return fmt::format("{} MiB", bytes >> 20);
  return fmt::format("{} KiB", bytes >> 10);
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char ch : s) {
    if (ch == '"') quoted += '"';
    quoted += ch;
  }
  return quoted + "\"";
}

}  // namespace

// ---------------------------------------------------------------- reports
std::vector<std::string> header_lines(const MachineInfo& machine) {
  std::vector<std::string> lines;
  lines.push_back(machine.logical_cpus > 0
                      ? fmt::format("CPU: {} ({} logical CPUs)", machine.cpu_model, machine.logical_cpus)
                      : fmt::format("CPU: {}", machine.cpu_model));
  lines.push_back(fmt::format("ISA path: {}", machine.isa));
  const kernels::RooflineMachine& roof = machine.roofline;
  lines.push_back(fmt::format("threads: {}", roof.threads));
  lines.push_back(fmt::format("measured peak: {:.1f} GFLOP/s FP32", roof.peak_gflops));
  lines.push_back(fmt::format("caches: L1d {}, L2 {} per core; L3 {} shared", format_size(roof.caches.l1d),
                              format_size(roof.caches.l2), format_size(roof.caches.l3)));
  lines.push_back(fmt::format("measured bandwidth (triad, all threads): L1 {:.1f}, L2 {:.1f}, L3 {:.1f}, DRAM {:.1f} GB/s",
                              roof.bandwidth_gbs.l1, roof.bandwidth_gbs.l2, roof.bandwidth_gbs.l3,
                              roof.bandwidth_gbs.dram));
  lines.push_back("roofline: min(peak, FLOPs/byte × bandwidth of the smallest level holding the case's bytes)");
  if (machine.load_average >= 0) {
    // Other processes on the cores stall every OpenMP barrier for a scheduler slice.
    const bool busy = roof.threads > 1 && machine.logical_cpus > 0 &&
                      machine.load_average + roof.threads > machine.logical_cpus + 0.5;
    lines.push_back(fmt::format("load average before the run: {:.2f}{}", machine.load_average,
                                busy ? " (busy machine: multi-threaded timings are unreliable)" : ""));
  }
  return lines;
}

std::string format_table(const std::vector<KernelResult>& results, const MachineInfo& machine) {
  const auto& names = column_names();
  std::vector<std::vector<std::string>> rows;
  rows.push_back(names);
  for (const auto& r : results) rows.push_back(cells(r));
  std::vector<size_t> widths(names.size(), 0);
  for (const auto& row : rows)
    for (size_t j = 0; j < row.size(); ++j) widths[j] = std::max(widths[j], display_width(row[j]));

  std::string out;
  for (const auto& line : header_lines(machine)) out += line + "\n";
  out += "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (size_t j = 0; j < rows[i].size(); ++j) {
      if (j) line += "  ";
      line += pad(rows[i][j], widths[j], is_text_column(j));
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string format_markdown(const std::vector<KernelResult>& results, const MachineInfo& machine) {
  const auto& names = column_names();
  std::string out = "# sepnet kernel profile\n\n";
  for (const auto& line : header_lines(machine)) out += "- " + line + "\n";
  out += "\n|";
  for (const auto& name : names) out += " " + name + " |";
  out += "\n|";
  for (size_t j = 0; j < names.size(); ++j) out += is_text_column(j) ? " --- |" : " ---: |";
  out += "\n";
  for (const auto& r : results) {
    out += "|";
    for (const auto& cell : cells(r)) out += " " + cell + " |";
    out += "\n";
  }
  return out;
}

std::string format_csv(const std::vector<KernelResult>& results) {
  std::string out =
      "family,kernel,shape,time_us,gflops,gbs,pct_peak,pct_roofline,flops,bytes,calls_per_batch,batches,variant,level,"
      "bound\n";
  for (const auto& r : results)
    out += fmt::format("{},{},{},{:.6g},{:.6g},{:.6g},{:.4g},{:.4g},{:.0f},{:.0f},{},{},{},{},{}\n", csv_field(r.family),
                       csv_field(r.kernel), csv_field(r.shape), r.median_us, r.gflops, r.gbs, r.pct_peak,
                       r.pct_roofline, r.flops, r.bytes, r.calls_per_batch, r.batches, csv_field(r.variant),
                       csv_field(r.level), csv_field(r.bound));
  return out;
}

std::vector<std::string> write_reports(const std::string& dir, const std::vector<KernelResult>& results,
                                       const MachineInfo& machine) {
  std::filesystem::create_directories(dir);
  const std::string md = (std::filesystem::path(dir) / "kernels.md").string();
  const std::string csv = (std::filesystem::path(dir) / "kernels.csv").string();
  write_file_atomically(md, format_markdown(results, machine));
  write_file_atomically(csv, format_csv(results));
  return {md, csv};
}

}  // namespace sepnet::bench
