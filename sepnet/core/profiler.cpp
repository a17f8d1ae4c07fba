#include "sepnet/core/profiler.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>

namespace sepnet::profiler {

namespace {
struct State {
  bool enabled = false;
  std::vector<LayerStats> layers;
  std::unordered_map<std::string, int> ids;
  std::vector<std::string> path;  // current scope names
  std::vector<int> stack;         // current scope ids
};
State& state() {
  static State s;
  return s;
}
}  // namespace

bool enabled() { return state().enabled; }
void set_enabled(bool on) { state().enabled = on; }
void reset() {
  State& s = state();
  s.layers.clear();
  s.ids.clear();
}

int current_layer() {
  const State& s = state();
  return s.stack.empty() ? -1 : s.stack.back();
}

Scope::Scope(const std::string& name, const std::string& description) {
  State& s = state();
  if (!s.enabled) return;
  active_ = true;
  std::string full = s.path.empty() ? name : s.path.back() + "." + name;
  auto [it, inserted] = s.ids.emplace(full, static_cast<int>(s.layers.size()));
  if (inserted) s.layers.push_back({full, description});
  id_ = it->second;
  s.path.push_back(full);
  s.stack.push_back(id_);
}

Scope::~Scope() {
  if (!active_) return;
  State& s = state();
  s.path.pop_back();
  s.stack.pop_back();
}

void add_forward(int layer, double seconds, int64_t macs, int64_t bytes) {
  State& s = state();
  if (layer < 0 || layer >= static_cast<int>(s.layers.size())) return;
  LayerStats& l = s.layers[static_cast<size_t>(layer)];
  l.forward_seconds += seconds;
  l.forward_calls += 1;
  l.macs += macs;
  l.forward_bytes += bytes;
}

void add_backward(int layer, double seconds) {
  State& s = state();
  if (layer < 0 || layer >= static_cast<int>(s.layers.size())) return;
  s.layers[static_cast<size_t>(layer)].backward_seconds += seconds;
}

std::vector<LayerStats> snapshot() { return state().layers; }

namespace {
// "bound | % roofline" cells of one call (`seconds` of it) moving `bytes` for `flops`; dashes
// for layers that recorded no bytes (not leaf modules: loss, optimizer, allreduce).
std::string roofline_cells(const kernels::RooflineMachine& machine, double flops, double bytes, double seconds) {
  if (bytes <= 0 || seconds <= 0) return "- | -";
  const kernels::RooflinePoint p = kernels::place_on_roofline(machine, flops, bytes, seconds);
  return fmt::format("{} | {:.1f}", p.bound(), p.percent);
}
}  // namespace

std::string report_markdown(const std::vector<LayerStats>& stats, int64_t steps,
                            const kernels::RooflineMachine& machine) {
  double total = 0;
  for (const auto& l : stats) total += l.forward_seconds + l.backward_seconds;
  const auto& bw = machine.bandwidth_gbs;
  std::string out = fmt::format(
      "roofline per call: min({:.1f} GFLOP/s peak, FLOPs/byte × bandwidth of the smallest level holding its bytes: "
      "L1 {:.1f}, L2 {:.1f}, L3 {:.1f}, DRAM {:.1f} GB/s; {} threads)\n\n",
      machine.peak_gflops, bw.l1, bw.l2, bw.l3, bw.dram, machine.threads);
  out +=
      "| layer | module | forward ms/step | backward ms/step | share | forward GFLOP/s | backward GFLOP/s "
      "| forward bound | forward % roofline | backward bound | backward % roofline |\n"
      "|---|---|---:|---:|---:|---:|---:|---|---:|---|---:|\n";
  const double per = steps > 0 ? 1000.0 / static_cast<double>(steps) : 0.0;
  for (const auto& l : stats) {
    const double f = l.forward_seconds, b = l.backward_seconds;
    const double flops = 2.0 * static_cast<double>(l.macs);
    // Per call: the roofline level depends on one call's working set, not the sum over calls.
    const double calls = static_cast<double>(std::max<int64_t>(l.forward_calls, 1));
    const double call_flops = flops / calls, call_bytes = static_cast<double>(l.forward_bytes) / calls;
    out += fmt::format("| {} | {} | {:.3f} | {:.3f} | {:.1f}% | {} | {} | {} | {} |\n", l.path, l.description, f * per,
                       b * per, total > 0 ? 100.0 * (f + b) / total : 0.0,
                       l.macs > 0 && f > 0 ? fmt::format("{:.2f}", flops / f * 1e-9) : "-",
                       l.macs > 0 && b > 0 ? fmt::format("{:.2f}", 2.0 * flops / b * 1e-9) : "-",
                       roofline_cells(machine, call_flops, call_bytes, f / calls),
                       roofline_cells(machine, 2.0 * call_flops, 2.0 * call_bytes, b / calls));
  }
  out += fmt::format("| total | | {:.3f} | | 100% | | | | | | |\n", total * per);
  return out;
}

}  // namespace sepnet::profiler
