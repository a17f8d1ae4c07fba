#include "sepnet/core/autograd.h"

#include "sepnet/core/profiler.h"

#include <chrono>
#include <stdexcept>
#include <unordered_set>

namespace sepnet {

namespace {
thread_local bool g_grad_enabled = true;
}

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

Tensor make_result(const Shape& shape, std::vector<Tensor> inputs,
                   std::function<void(TensorImpl& self)> backward_fn, bool zero) {
  Tensor out = zero ? Tensor::zeros(shape) : Tensor::empty(shape);
  if (!g_grad_enabled) return out;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return out;
  TensorImpl* impl = out.impl();
  impl->requires_grad = true;
  for (Tensor& t : inputs)
    if (t.defined()) impl->inputs.push_back(t.impl_ptr());
  impl->backward_fn = std::move(backward_fn);
  impl->profile_layer = profiler::current_layer();
  return out;
}

void run_backward(TensorImpl& root) {
  if (root.numel() != 1)
    throw std::invalid_argument("backward() needs a one-element tensor, got shape " + shape_to_string(root.shape));
  if (!root.requires_grad) throw std::invalid_argument("backward() on a tensor that does not require grad");

  // Topological order by iterative DFS (deep graphs must not overflow the stack).
  std::vector<TensorImpl*> order;
  std::unordered_set<TensorImpl*> visited;
  std::vector<std::pair<TensorImpl*, size_t>> stack{{&root, 0}};
  visited.insert(&root);
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      TensorImpl* child = node->inputs[next++].get();
      if (child->backward_fn && visited.insert(child).second) stack.push_back({child, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }

  root.grad_data()[0] += 1.0f;
  const bool profiling = profiler::enabled();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    TensorImpl* node = *it;
    if (!node->backward_fn || !node->grad) continue;
    if (!profiling) {
      node->backward_fn(*node);
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    node->backward_fn(*node);
    profiler::add_backward(node->profile_layer,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  // Release the graph: saved activations, intermediate gradients, links to inputs.
  for (TensorImpl* node : order) {
    node->backward_fn = nullptr;
    node->inputs.clear();
    if (node != &root) node->grad.reset();
  }
}

}  // namespace sepnet
