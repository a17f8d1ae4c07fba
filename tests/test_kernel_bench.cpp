// The `sepnet bench` kernel profile: case list coverage, flop/byte bookkeeping, timing and reports.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "sepnet/kernels/batchnorm.h"
#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/pool.h"
#include "sepnet/train/kernel_bench.h"
#include "sepnet/core/io/atomic_file.h"

using namespace sepnet;

namespace {

const std::set<std::string> kFamilies{"gemm", "conv_direct", "conv_stem", "im2col", "col2im", "depthwise", "pointwise",
                                      "maxpool",   "batchnorm", "relu",   "log_softmax"};

std::set<std::string> families_of(const std::vector<bench::KernelCase>& cases) {
  std::set<std::string> f;
  for (const auto& c : cases) f.insert(c.family);
  return f;
}

std::vector<long> numbers_in(const std::string& s) {
  std::vector<long> out;
  std::smatch m;
  std::string rest = s;
  const std::regex number("[0-9]+");
  while (std::regex_search(rest, m, number)) {
    out.push_back(std::stol(m.str()));
    rest = m.suffix();
  }
  return out;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (quoted) {
      if (ch == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      fields.push_back(field);
      field.clear();
    } else {
      field += ch;
    }
  }
  fields.push_back(field);
  return fields;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("sepnet_test_kernel_bench_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("kernel_bench: case lists cover every family, quick set is a subset", "[kernel_bench]") {
  const auto all = bench::kernel_cases(false);
  const auto quick = bench::kernel_cases(true);
  CHECK(families_of(all) == kFamilies);
  CHECK(families_of(quick) == kFamilies);
  CHECK(quick.size() < all.size());

  std::set<std::string> ids;
  for (const auto& c : all) CHECK(ids.insert(c.id()).second);  // ids are unique
  for (const auto& c : quick) CHECK(ids.count(c.id()) == 1);

  // The shapes the brief asks for are all there.
  for (const char* id : {"gemm/sgemm NN/1024x1024x1024", "gemm/sgemm NN/6x576x25 conv1 per image",
                         "gemm/sgemm NN/6x36864x25 conv1 batch 64", "gemm/sgemm NT/64x10x84 fc3 batch 64",
                         "depthwise/backward_weight/1024x7x7 k3 s1 p1 b1", "depthwise/forward/64x112x112 k3 s2 p1 b1",
                         "depthwise/forward/64x112x112 k3 s2 p1 b1 nhwc",
                         "depthwise/backward_input/1x28x28 k5 s1 p0 b64", "pointwise/forward/1024->1024 @7x7 b1",
                         "pointwise/forward/1->6 @24x24 b64", "maxpool/forward/64x6x24x24 k2 s2",
                         "batchnorm/backward/64x16x8x8", "im2col/im2col/3x224x224 k3 s2 p1 MobileNet conv1",
                         "conv_stem/forward/3->32 @224x224 k3 s2 p1 b1 MobileNet a1",
                         "col2im/col2im_accumulate/6x12x12 k5 s1 p0 MNIST conv2", "log_softmax/forward/64x10"})
    CHECK(ids.count(id) == 1);
}

TEST_CASE("kernel_bench: flops and bytes are positive and follow the shape", "[kernel_bench]") {
  for (const auto& c : bench::kernel_cases(false)) {
    INFO(c.id());
    CHECK(c.bytes > 0);
    CHECK(std::isfinite(c.flops));
    if (c.family == "im2col")
      CHECK(c.flops == 0);  // pure data movement
    else
      CHECK(c.flops > 0);

    const auto n = numbers_in(c.shape);
    if (c.family == "gemm") {
      const double m = n.at(0), nn = n.at(1), k = n.at(2);
      CHECK(c.flops == 2 * m * nn * k);
      CHECK(c.bytes == 4 * (m * k + k * nn + m * nn));
    } else if (c.family == "depthwise") {  // C x H x W kK sS pP bN
      const double ch = n.at(0), h = n.at(1), w = n.at(2), k = n.at(3), s = n.at(4), p = n.at(5), b = n.at(6);
      const double oh = std::floor((h + 2 * p - k) / s) + 1, ow = std::floor((w + 2 * p - k) / s) + 1;
      CHECK(c.flops == 2 * b * ch * oh * ow * k * k);
      const double in = b * ch * h * w, out = b * ch * oh * ow, wt = ch * k * k;
      if (c.kernel == "forward") CHECK(c.bytes == 4 * (in + out + wt));
      if (c.kernel == "backward_input") CHECK(c.bytes == 4 * (out + wt + 2 * in));
      if (c.kernel == "backward_weight") CHECK(c.bytes == 4 * (in + out + 2 * wt));
    } else if (c.family == "pointwise") {  // Cin->Cout @HxW bN
      const double cin = n.at(0), cout = n.at(1), hw = double(n.at(2)) * n.at(3), b = n.at(4);
      CHECK(c.flops == 2 * b * cin * cout * hw);
      if (c.kernel == "forward") CHECK(c.bytes == 4 * (b * (cin + cout) * hw + cin * cout));
    } else if (c.family == "im2col" || c.family == "col2im") {  // C x H x W kK sS pP
      const double ch = n.at(0), h = n.at(1), w = n.at(2), k = n.at(3), s = n.at(4), p = n.at(5);
      const double oh = std::floor((h + 2 * p - k) / s) + 1, ow = std::floor((w + 2 * p - k) / s) + 1;
      const double image = ch * h * w, columns = ch * k * k * oh * ow;
      if (c.family == "im2col") {
        CHECK(c.bytes == 4 * (image + columns));
      } else {
        CHECK(c.bytes == 4 * (columns + 2 * image));
        CHECK(c.flops <= columns);  // one add per in-image column entry
        if (p == 0) CHECK(c.flops == columns);
      }
    } else if (c.family == "maxpool") {  // N x C x H x W kK sS
      const double out = double(n.at(0)) * n.at(1) * (n.at(2) / 2) * (n.at(3) / 2);
      CHECK(c.flops == (c.kernel == "forward" ? 3 * out : out));
    } else if (c.family == "batchnorm") {
      const double e = double(n.at(0)) * n.at(1) * n.at(2) * n.at(3);
      CHECK(c.flops == (c.kernel == "forward_train" ? 7 * e : 10 * e));
    } else if (c.family == "relu") {
      CHECK(c.bytes == (c.kernel == "forward" ? 8.0 : 16.0) * n.at(0));
    } else if (c.family == "log_softmax") {
      CHECK(c.bytes == 8.0 * n.at(0) * n.at(1));
    }
  }
}

TEST_CASE("kernel_bench: filter matches family/kernel/shape", "[kernel_bench]") {
  const auto all = bench::kernel_cases(false);
  const auto dw = bench::filter_cases(all, "^depthwise/backward");
  CHECK(dw.size() == 28);  // 6 MobileNet shapes × 2 layouts + 2 MNIST shapes, × 2 gradients
  for (const auto& c : dw) CHECK(c.kernel.rfind("backward", 0) == 0);
  CHECK(bench::filter_cases(all, "1024x1024x1024").size() == 1);
  CHECK(bench::filter_cases(all, "no such kernel").empty());
  CHECK_THROWS_AS(bench::filter_cases(all, "("), std::regex_error);
}

TEST_CASE("kernel_bench: cases name the variant their family's table selects", "[kernel_bench]") {
  using namespace sepnet::kernels;
  const std::set<std::string> dispatched{"gemm", "conv_direct", "conv_stem", "depthwise", "maxpool", "batchnorm"};
  std::set<std::string> names;
  for (const auto& v : gemm_variants()) names.insert(v.name);
  for (const auto& v : depthwise_variants()) names.insert(v.name);
  for (const auto& v : depthwise_nhwc_variants()) names.insert(v.name);
  for (const auto& v : direct_conv_variants()) names.insert(v.name);
  for (const auto& v : stem_conv_variants()) names.insert(v.name);
  for (const auto& v : pool_variants()) names.insert(v.name);
  for (const auto& v : batchnorm_variants()) names.insert(v.name);
  for (const auto& c : bench::kernel_cases(false)) {
    INFO(c.id());
    const bool has_variant = dispatched.count(c.family) && !(c.family == "maxpool" && c.kernel == "backward");
    REQUIRE(static_cast<bool>(c.variant) == has_variant);
    if (has_variant) CHECK(names.count(c.variant()) == 1);
  }
  // Under a forced ISA the names follow it (scalar exists everywhere).
  ScopedIsa scalar(Isa::scalar);
  for (const auto& c : bench::filter_cases(bench::kernel_cases(false), "^gemm/"))
    CHECK(c.variant() == variant_for(gemm_variants(), Isa::scalar).name);
}

namespace {
// Peak 100 GFLOP/s; L1 400, L2 200, L3 20, DRAM 10 GB/s; 32 KiB L1d, 512 KiB L2, 32 MiB L3; one thread.
bench::MachineInfo synthetic_machine() {
  bench::MachineInfo m;
  m.cpu_model = "test CPU";
  m.isa = "scalar";
  m.roofline.threads = 1;
  m.roofline.peak_gflops = 100;
  m.roofline.bandwidth_gbs = {400, 200, 20, 10};
  m.roofline.caches = {32 * 1024, 512 * 1024, 32 * 1024 * 1024};
  return m;
}
}  // namespace

TEST_CASE("kernel_bench: derived columns follow the per-level roofline", "[kernel_bench]") {
  const bench::MachineInfo m = synthetic_machine();
  bench::KernelCase compute{"gemm", "sgemm NN", "x", 2e9, 1e8, false, {}, {}};  // 20 flop/byte from DRAM: compute bound
  auto r = bench::make_result(compute, 0.04, m);                            // 50 GFLOP/s
  CHECK(r.median_us == Approx(40000));
  CHECK(r.gflops == Approx(50));
  CHECK(r.gbs == Approx(2.5));
  CHECK(r.pct_peak == Approx(50));
  CHECK(r.level == "DRAM");
  CHECK(r.bound == "compute");
  CHECK(r.pct_roofline == Approx(50));

  bench::KernelCase memory{"relu", "forward", "x", 1e8, 8e8, false, {}, {}};  // 0.125 flop/byte: roof 1.25 GFLOP/s
  r = bench::make_result(memory, 0.1, m);                                 // 1 GFLOP/s, 8 GB/s
  CHECK(r.pct_peak == Approx(1));
  CHECK(r.level == "DRAM");
  CHECK(r.bound == "DRAM bw");
  CHECK(r.pct_roofline == Approx(80));

  // The same kernel on 256 KiB stays in L2 between calls: its roof is L2's 200 GB/s × 0.125,
  // so 100 GB/s (12.5 GFLOP/s) is 50 %, not the 1000 % a DRAM roof would claim.
  bench::KernelCase cached{"relu", "forward", "x", 32768, 262144, false, {}, {}};
  r = bench::make_result(cached, 262144 / 100e9, m);
  CHECK(r.gbs == Approx(100));
  CHECK(r.level == "L2");
  CHECK(r.bound == "L2 bw");
  CHECK(r.pct_roofline == Approx(50));

  bench::KernelCase copy{"im2col", "im2col", "x", 0, 5e8, false, {}, {}};
  r = bench::make_result(copy, 0.1, m);  // 5 GB/s of DRAM's 10
  CHECK(r.pct_peak == 0);
  CHECK(r.level == "DRAM");
  CHECK(r.bound == "DRAM bw");
  CHECK(r.pct_roofline == Approx(50));
}

TEST_CASE("kernel_bench: quick set runs, times are positive, reports are well formed", "[kernel_bench]") {
  const bench::MachineInfo m = synthetic_machine();
  bench::BenchOptions options;
  options.min_time_s = 1e-4;
  options.min_batches = 5;

  const auto cases = bench::kernel_cases(true);
  size_t progress_calls = 0;
  const auto results =
      bench::run_cases(cases, options, m, [&](size_t i, size_t n, const bench::KernelCase&) {
        CHECK(i == progress_calls);
        CHECK(n == cases.size());
        ++progress_calls;
      });
  CHECK(progress_calls == cases.size());
  REQUIRE(results.size() == cases.size());
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    INFO(cases[i].id());
    CHECK(r.family == cases[i].family);
    CHECK(std::isfinite(r.median_us));
    CHECK(r.median_us > 0);
    CHECK(r.batches >= 5);
    CHECK(r.calls_per_batch >= 1);
    CHECK(std::isfinite(r.gbs));
    CHECK(r.gbs > 0);
    CHECK(std::isfinite(r.pct_roofline));
    CHECK(r.pct_roofline > 0);
    // Placed on the level that holds the case's bytes (the percent itself is a timing).
    const auto level = kernels::level_holding(cases[i].bytes, 1, m.roofline.caches);
    CHECK(r.level == kernels::level_name(level));
    CHECK((r.bound == "compute" || r.bound == r.level + " bw"));
  }

  const std::string table = bench::format_table(results, m);
  CHECK(table.find("CPU: test CPU") != std::string::npos);
  CHECK(table.find("ISA path: scalar") != std::string::npos);
  CHECK(table.find("% roofline") != std::string::npos);
  CHECK(table.find("  level  ") != std::string::npos);
  CHECK(table.find("  bound  ") != std::string::npos);
  CHECK(table.find("caches: L1d 32 KiB, L2 512 KiB per core; L3 32 MiB shared") != std::string::npos);
  CHECK(table.find("L1 400.0, L2 200.0, L3 20.0, DRAM 10.0 GB/s") != std::string::npos);

  TempDir dir;
  const auto paths = bench::write_reports((dir.path / "nested").string(), results, m);
  REQUIRE(paths.size() == 2);
  const std::string md = read_file_bytes(paths[0]);
  CHECK(md.find("- measured peak: 100.0 GFLOP/s") != std::string::npos);
  size_t md_rows = 0;
  std::istringstream md_lines(md);
  for (std::string line; std::getline(md_lines, line);)
    if (!line.empty() && line[0] == '|') ++md_rows;
  CHECK(md_rows == results.size() + 2);  // header + separator + one per case

  const std::string csv = read_file_bytes(paths[1]);
  REQUIRE(!csv.empty());
  CHECK(csv.back() == '\n');
  std::istringstream lines(csv);
  std::vector<std::string> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  REQUIRE(rows.size() == results.size() + 1);
  const auto header = split_csv_line(rows[0]);
  REQUIRE(header.size() == 15);
  CHECK(header[0] == "family");
  CHECK(header[3] == "time_us");
  CHECK(header[7] == "pct_roofline");
  CHECK(header[12] == "variant");
  CHECK(header[13] == "level");
  CHECK(header[14] == "bound");
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto fields = split_csv_line(rows[i]);
    INFO(rows[i]);
    REQUIRE(fields.size() == header.size());
    CHECK(fields[0] == results[i - 1].family);
    CHECK(fields[2] == results[i - 1].shape);
    const double time_us = std::stod(fields[3]);
    CHECK(time_us > 0);
    CHECK(std::isfinite(time_us));
    CHECK(std::stod(fields[8]) == results[i - 1].flops);
    CHECK(std::stod(fields[9]) == results[i - 1].bytes);
    CHECK(fields[12] == results[i - 1].variant);
    CHECK(fields[13] == results[i - 1].level);
    CHECK(fields[14] == results[i - 1].bound);
  }
}
