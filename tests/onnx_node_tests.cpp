// The ONNX backend node tests (Debian libonnx-testdata: data/node/test_*/model.onnx with
// test_data_set_0/input_*.pb and output_*.pb) for every operator sepnet reads: each model is
// imported, run by the reference evaluator and by the optimized executor, and compared with the
// expected output at rtol 1e-3, atol 1e-5 (ONNX's backend runner uses rtol 1e-3). Prints a
// per-operator table of passed, failed and skipped cases with every skip's reason (the importer's
// error). Exit 0 when nothing failed, 1 on a failure, 77 when the test data is not installed.
// Usage: onnx_node_tests [NODE_TEST_DIR] [-v]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "sepnet/core/io/atomic_file.h"
#include "sepnet/infer/executor.h"
#include "sepnet/onnx/onnx_reader.h"

namespace fs = std::filesystem;
using namespace sepnet;

namespace {

// The ONNX operators the importer maps onto sepnet (onnx_reader.cpp).
const std::set<std::string> kSupported = {"Conv", "BatchNormalization", "Relu", "Clip", "MaxPool", "AveragePool",
                                          "GlobalAveragePool", "Gemm", "MatMul", "Add", "Flatten", "Reshape",
                                          "Softmax", "Identity", "Constant", "Shape", "Gather", "Unsqueeze", "Concat"};

struct Row {
  int passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> notes;
};

std::string compare(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape())
    return fmt::format("shape {} instead of {}", shape_to_string(got.shape()), shape_to_string(want.shape()));
  double worst = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.data()[i], w = want.data()[i];
    const double excess = std::abs(g - w) - (1e-5 + 1e-3 * std::abs(w));
    if (!(excess <= 0)) worst = std::max(worst, std::isnan(excess) ? INFINITY : std::abs(g - w));
  }
  return worst > 0 ? fmt::format("max |diff| {:.3g} beyond rtol 1e-3, atol 1e-5", worst) : "";
}

}  // namespace

int main(int argc, char** argv) {
  const fs::path root = argc > 1 && argv[1][0] != '-' ? argv[1] : "/usr/share/libonnx-testdata/data/node";
  const bool verbose = argc > 1 && std::string(argv[argc - 1]) == "-v";
  if (!fs::is_directory(root)) {
    fmt::print("SKIP: {} not found (Debian package libonnx-testdata)\n", root.string());
    return 77;
  }
  std::vector<fs::path> cases;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx")) cases.push_back(entry.path());
  std::sort(cases.begin(), cases.end());

  std::map<std::string, Row> table;
  for (const fs::path& dir : cases) {
    const std::string name = dir.filename().string();
    ::onnx::ModelProto model;
    const std::string bytes = read_file_bytes((dir / "model.onnx").string());
    if (!model.ParseFromString(bytes)) continue;
    std::set<std::string> ops;
    for (const auto& n : model.graph().node()) ops.insert(n.op_type());
    // One row per operator for the single-node cases; cases built of several nodes (the
    // "_expanded" function bodies) count only when sepnet reads all of their operators.
    std::string key;
    if (model.graph().node_size() == 1) {
      key = *ops.begin();
      if (!kSupported.count(key)) continue;
    } else {
      if (!std::all_of(ops.begin(), ops.end(), [](const std::string& op) { return kSupported.count(op) > 0; })) continue;
      key = "(several nodes)";
    }
    Row& row = table[key];
    const fs::path data = dir / "test_data_set_0";
    std::vector<Tensor> inputs, outputs;
    std::string problem;
    for (const auto& in : model.graph().input())
      if (problem.empty() && !in.type().has_tensor_type())
        problem = fmt::format("input '{}' is not a tensor (a sequence or optional)", in.name());
    if (problem.empty()) try {
      for (int i = 0; fs::exists(data / fmt::format("input_{}.pb", i)); ++i)
        inputs.push_back(sepnet::onnx::read_onnx_tensor_file((data / fmt::format("input_{}.pb", i)).string()));
      for (int i = 0; fs::exists(data / fmt::format("output_{}.pb", i)); ++i)
        outputs.push_back(sepnet::onnx::read_onnx_tensor_file((data / fmt::format("output_{}.pb", i)).string()));
    } catch (const std::exception& e) {
      problem = e.what();
    }
    if (problem.empty() && (inputs.empty() || outputs.size() != 1))
      problem = fmt::format("{} inputs and {} outputs (sepnet runs one input to one output)", inputs.size(), outputs.size());
    infer::Graph graph;
    if (problem.empty()) {
      // The first graph input is the activation; the others (weights given as inputs) are bound as constants.
      sepnet::onnx::ReadOptions options;
      for (int i = 1; i < model.graph().input_size() && i < static_cast<int>(inputs.size()); ++i)
        options.constant_inputs[model.graph().input(i).name()] = inputs[static_cast<size_t>(i)];
      try {
        graph = sepnet::onnx::read_onnx_file((dir / "model.onnx").string(), options);
      } catch (const std::exception& e) {
        problem = e.what();
        const size_t cut = problem.find("model.onnx: ");
        if (cut != std::string::npos) problem = problem.substr(cut + 12);
      }
    }
    if (!problem.empty()) {
      ++row.skipped;
      row.notes.push_back(fmt::format("skip {}: {}", name, problem));
      continue;
    }
    std::string mismatch;
    try {
      mismatch = compare(infer::run_reference(graph, inputs[0]), outputs[0]);
      if (mismatch.empty()) {
        infer::Executor executor(graph);
        const std::string fast = compare(executor.run(inputs[0]), outputs[0]);
        if (!fast.empty()) mismatch = "executor: " + fast;
      } else {
        mismatch = "reference: " + mismatch;
      }
    } catch (const std::exception& e) {
      mismatch = std::string("threw: ") + e.what();
    }
    if (mismatch.empty()) {
      ++row.passed;
      if (verbose) row.notes.push_back("pass " + name);
    } else {
      ++row.failed;
      row.notes.push_back(fmt::format("FAIL {}: {}", name, mismatch));
    }
  }

  int passed = 0, failed = 0, skipped = 0;
  fmt::print("| operator | passed | failed | skipped |\n|---|---:|---:|---:|\n");
  for (const auto& [op, row] : table) {
    fmt::print("| {} | {} | {} | {} |\n", op, row.passed, row.failed, row.skipped);
    passed += row.passed, failed += row.failed, skipped += row.skipped;
  }
  fmt::print("| total | {} | {} | {} |\n\n", passed, failed, skipped);
  for (const auto& [op, row] : table)
    for (const auto& note : row.notes) fmt::print("{}\n", note);
  return failed > 0 ? 1 : 0;
}
