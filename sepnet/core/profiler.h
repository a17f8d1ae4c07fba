// Per-layer profiler for `sepnet train --profile`: forward and backward wall time and work,
// per layer. Modules push a scope around each child's forward; ops record the scope they ran
// in on their autograd node, so backward time lands on the same layer. Off by default, and
// then costs one branch per op.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sepnet/kernels/roofline.h"

namespace sepnet::profiler {

bool enabled();
void set_enabled(bool on);
void reset();

// The current layer id (-1: none), stored by ops on their autograd nodes.
int current_layer();

// Pushes `name` onto the layer path while alive ("conv_module" then "0" -> "conv_module.0").
class Scope {
 public:
  Scope(const std::string& name, const std::string& description = "");
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  int id() const { return id_; }

 private:
  int id_ = -1;
  bool active_ = false;
};

// `bytes`: what the call must move at minimum (input + output + parameters), for the roofline.
void add_forward(int layer, double seconds, int64_t macs, int64_t bytes = 0);
void add_backward(int layer, double seconds);

struct LayerStats {
  std::string path, description;
  double forward_seconds = 0, backward_seconds = 0;
  int64_t forward_calls = 0, macs = 0;  // MACs of all recorded forward calls
  int64_t forward_bytes = 0;              // bytes of all recorded forward calls (add_forward)
};
std::vector<LayerStats> snapshot();  // in first-seen order

// Markdown table: layer, forward ms, backward ms, share of total, forward and backward GFLOP/s
// (backward counted as 2× the forward's MACs: input and weight gradients), and per direction
// what bounds one call on `machine`'s roofline and the % of that roof it reached
// (kernels::place_on_roofline; backward moves 2× the forward's bytes: it reads the output
// gradient, input and weights and writes the input and weight gradients). A line with the
// per-level bandwidths comes first.
std::string report_markdown(const std::vector<LayerStats>& stats, int64_t steps,
                            const kernels::RooflineMachine& machine);

}  // namespace sepnet::profiler
