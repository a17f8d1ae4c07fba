// The executor: passes once, then per batch size a plan (one step per node, plus layout
// conversions), its buffers placed in arenas by liveness (arena_plan.h), run by calling the
// kernels on raw pointers.
#include "sepnet/infer/executor.h"

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "sepnet/core/storage.h"
#include "sepnet/infer/arena_plan.h"
#include "sepnet/infer/conv_step.h"
#include "sepnet/infer/step.h"
#include "sepnet/infer/node_label.h"
#include "sepnet/infer/op_shapes.h"
#include "sepnet/infer/passes.h"
#include "sepnet/infer/step_kernels.h"
#include "sepnet/kernels/layout.h"

namespace sepnet::infer {

namespace {

// What a step needs of its input's layout.
enum class Wants { nchw, nhwc, same_as_input };

}  // namespace

namespace {
struct PlanData {
  int64_t batch = 0;
  std::vector<Step> steps;
  std::vector<BufferLife> lives;   // per buffer
  std::vector<Layout> layouts;     // per buffer
  std::vector<Shape> shapes;       // per buffer, logical NCHW shape
  std::vector<float*> pointers;    // per buffer, resolved after the arenas exist
  std::vector<std::shared_ptr<Storage>> arenas;
  std::shared_ptr<Storage> scratch;
  int64_t scratch_floats = 0;
  std::vector<int32_t> pool_indices;  // the max pool kernel's winner indices (not used further)
  int input_buffer = -1, output_buffer = -1;
  size_t bytes = 0;
};
}  // namespace

struct Executor::Plan : PlanData {};

Executor::Executor(Graph graph, ExecutorOptions options) : graph_(std::move(graph)), options_(options) {
  validate(graph_);
  if (options_.fold_batch_norm) fold_batch_norm(graph_);
  if (options_.fuse_activations) fuse_activations(graph_);
  validate(graph_);
  if (graph_.values[graph_.output].is_constant())
    throw std::invalid_argument("graph output '" + graph_.values[graph_.output].name + "' is a constant, not computed");
  infer_shapes(graph_, 1);  // refuse a graph whose shapes do not fit before the first run
}

namespace {

struct Builder {
  const Graph& g;
  const ExecutorOptions& options;
  std::vector<Shape> value_shapes;
  PlanData* plan;  // filled
  // Per value: its buffer in each layout (-1: none yet).
  std::vector<int> in_nchw, in_nhwc;

  int new_buffer(const Shape& shape, Layout layout, int first) {
    plan->lives.push_back({shape_numel(shape), first, first});
    plan->layouts.push_back(layout);
    plan->shapes.push_back(shape);
    return static_cast<int>(plan->lives.size()) - 1;
  }
  int step_index() const { return static_cast<int>(plan->steps.size()); }
  void read(int buffer) { plan->lives[buffer].last = std::max(plan->lives[buffer].last, step_index()); }

  // The buffer holding value `v` in `layout`, adding a conversion step when it is only in the other.
  int buffer_of(int v, Layout layout) {
    int& have = layout == Layout::nchw ? in_nchw[v] : in_nhwc[v];
    if (have >= 0) return have;
    const int other = layout == Layout::nchw ? in_nhwc[v] : in_nchw[v];
    if (other < 0) throw std::logic_error("executor: value '" + g.values[v].name + "' has no buffer");
    Step s;
    s.kind = layout == Layout::nhwc ? StepKind::to_nhwc : StepKind::to_nchw;
    s.label = (layout == Layout::nhwc ? "to NHWC: " : "to NCHW: ") + g.values[v].name;
    s.in_shape = value_shapes[v];
    s.out_shape = value_shapes[v];
    s.inputs = {other};
    s.constants = {nullptr};
    read(other);
    s.output = have = new_buffer(value_shapes[v], layout, step_index());
    plan->steps.push_back(std::move(s));
    return have;
  }

  // NHWC is a choice only for 4-D activations with a spatial extent.
  bool can_be_nhwc(int v) const { return value_shapes[v].size() == 4; }
  Layout available(int v) const { return in_nchw[v] >= 0 ? Layout::nchw : Layout::nhwc; }

  void add_node_step(size_t index) {
    const Node& n = g.nodes[index];
    Step s;
    s.node = &n;
    s.label = node_label(g, index);
    s.in_shape = value_shapes[n.inputs[0]];
    s.out_shape = value_shapes[n.output];
    if (n.inputs.size() > 1) s.b_shape = value_shapes[n.inputs[1]];
    if (n.inputs.size() > 2) s.c_shape = value_shapes[n.inputs[2]];
    Layout in_layout = Layout::nchw, out_layout = Layout::nchw;
    switch (n.op) {
      case OpKind::conv: {
        const bool input_nhwc = options.channels_last && in_nhwc[n.inputs[0]] >= 0;
        choose_conv(g, n, s, input_nhwc, options.channels_last);
        in_layout = s.conv.input_nhwc ? Layout::nhwc : Layout::nchw;
        out_layout = s.conv.output_nhwc ? Layout::nhwc : Layout::nchw;
        s.kind = StepKind::conv;
        break;
      }
      case OpKind::batch_norm:
      case OpKind::relu:
      case OpKind::clip:
      case OpKind::identity:
        in_layout = out_layout = can_be_nhwc(n.inputs[0]) ? available(n.inputs[0]) : Layout::nchw;
        s.kind = n.op == OpKind::batch_norm ? StepKind::batch_norm
                 : n.op == OpKind::identity ? StepKind::copy
                                            : StepKind::elementwise;
        break;
      case OpKind::add:
        s.kind = StepKind::add;
        // Channels-last only between two activations of one shape (constants are stored NCHW).
        if (value_shapes[n.inputs[0]] == value_shapes[n.inputs[1]] && can_be_nhwc(n.inputs[0]) &&
            !g.values[n.inputs[0]].is_constant() && !g.values[n.inputs[1]].is_constant())
          in_layout = out_layout = available(n.inputs[0]);
        break;
      case OpKind::global_average_pool:
        in_layout = can_be_nhwc(n.inputs[0]) ? available(n.inputs[0]) : Layout::nchw;
        s.kind = StepKind::global_average_pool;
        break;  // [N, C, 1, 1] is the same in both layouts; kept as NCHW
      case OpKind::max_pool:
      case OpKind::average_pool: s.kind = StepKind::pool; break;
      case OpKind::gemm: s.kind = StepKind::gemm; break;
      case OpKind::matmul: s.kind = StepKind::matmul; break;
      case OpKind::softmax: s.kind = StepKind::softmax; break;
      case OpKind::flatten:
      case OpKind::reshape: s.kind = StepKind::copy; break;
    }
    s.input_nhwc = in_layout == Layout::nhwc;
    for (size_t k = 0; k < n.inputs.size(); ++k) {
      const int v = n.inputs[k];
      if (g.values[v].is_constant()) {
        s.constants.push_back(g.values[v].constant.data());
        s.inputs.push_back(-1);
        continue;
      }
      // Only the first input of an op (and both of a same-shape Add) follows the chosen layout.
      const Layout want = (k == 0 || n.op == OpKind::add) && can_be_nhwc(v) ? in_layout : Layout::nchw;
      const int b = buffer_of(v, want);
      read(b);
      s.inputs.push_back(b);
      s.constants.push_back(nullptr);
    }
    s.output = new_buffer(value_shapes[n.output], out_layout, step_index());
    (out_layout == Layout::nchw ? in_nchw : in_nhwc)[n.output] = s.output;
    s.scratch_floats = scratch_floats_for(s);
    plan->scratch_floats = std::max(plan->scratch_floats, s.scratch_floats);
    const int64_t indices = index_scratch_for(s);
    if (indices > static_cast<int64_t>(plan->pool_indices.size())) plan->pool_indices.resize(indices);
    plan->steps.push_back(std::move(s));
  }
};

}  // namespace

Tensor Executor::run(const Tensor& input) {
  if (!input.defined()) throw std::invalid_argument("Executor::run: no input tensor");
  const int64_t batch = batch_of_input(graph_, input.shape());
  if (!plan_ || plan_->batch != batch) {
    auto plan = std::make_shared<Plan>();
    plan->batch = batch;
    Builder b{graph_, options_, infer_shapes(graph_, batch), plan.get(), {}, {}};
    b.in_nchw.assign(graph_.values.size(), -1);
    b.in_nhwc.assign(graph_.values.size(), -1);
    plan->input_buffer = b.in_nchw[graph_.input] = b.new_buffer(b.value_shapes[graph_.input], Layout::nchw, -1);
    for (size_t i = 0; i < graph_.nodes.size(); ++i) b.add_node_step(i);
    plan->output_buffer = b.buffer_of(graph_.output, Layout::nchw);
    b.read(plan->output_buffer);
    // The input lives in the caller's tensor, not in an arena.
    std::vector<BufferLife> arena_lives;
    std::vector<int> arena_buffers;
    for (size_t k = 0; k < plan->lives.size(); ++k)
      if (static_cast<int>(k) != plan->input_buffer) {
        arena_lives.push_back(plan->lives[k]);
        arena_buffers.push_back(static_cast<int>(k));
      }
    const ArenaPlan arenas = plan_arenas(arena_lives);
    for (int64_t floats : arenas.arena_floats) {
      plan->arenas.push_back(make_storage(std::max<int64_t>(floats, 1), false));
      plan->bytes += static_cast<size_t>(floats) * sizeof(float);
    }
    if (plan->scratch_floats > 0) plan->scratch = make_storage(plan->scratch_floats, false);
    plan->bytes += static_cast<size_t>(plan->scratch_floats) * sizeof(float) + plan->pool_indices.size() * sizeof(int32_t);
    plan->pointers.assign(plan->lives.size(), nullptr);
    for (size_t k = 0; k < arena_buffers.size(); ++k)
      plan->pointers[arena_buffers[k]] = plan->arenas[arenas.arena_of[k]]->data();
    plan_ = std::move(plan);
  }
  Plan& p = *plan_;
  p.pointers[p.input_buffer] = const_cast<float*>(input.data());  // only ever read
  float* scratch = p.scratch ? p.scratch->data() : nullptr;
  for (const Step& s : p.steps) {
    const float* inputs[kMaxStepInputs] = {};
    for (size_t k = 0; k < s.inputs.size(); ++k) inputs[k] = s.inputs[k] >= 0 ? p.pointers[s.inputs[k]] : s.constants[k];
    run_step(s, inputs, p.pointers[s.output], scratch, p.pool_indices.data());
  }
  Tensor out = Tensor::empty(p.shapes[p.output_buffer]);
  std::memcpy(out.data(), p.pointers[p.output_buffer], sizeof(float) * out.numel());
  return out;
}

size_t Executor::arena_bytes() const { return plan_ ? plan_->bytes : 0; }

std::string Executor::summary() const {
  std::string text = fmt::format("{} nodes after the passes\n", graph_.nodes.size());
  if (!plan_) return text + "not run yet: no plan\n";
  for (const Step& s : plan_->steps) text += "  " + describe_step(s) + "\n";
  text += fmt::format("batch {}: {} arenas", plan_->batch, plan_->arenas.size());
  for (const auto& a : plan_->arenas) text += fmt::format(" {:.1f}", a->size() * 4.0 / 1024.0);
  text += fmt::format(" KiB, scratch {:.1f} KiB, {:.1f} KiB in all\n", plan_->scratch_floats * 4.0 / 1024.0, plan_->bytes / 1024.0);
  return text;
}

}  // namespace sepnet::infer
