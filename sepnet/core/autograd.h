// Reverse-mode autograd on a dynamic graph.
//
// Ownership: a result holds shared_ptrs to its inputs and a backward closure that owns the
// activations it saved; nothing points back from inputs to results, so there are no cycles.
// The graph lives exactly as long as the loss tensor (or backward() runs, which clears it).
#pragma once
#include "sepnet/core/tensor.h"

namespace sepnet {

bool grad_enabled();

// Disables recording in its scope (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// For op implementations: a new result tensor of `shape`. If recording is on and any input
// requires grad, the result requires grad and records `inputs` and `backward_fn`.
Tensor make_result(const Shape& shape, std::vector<Tensor> inputs,
                   std::function<void(TensorImpl& self)> backward_fn, bool zero = false);

// Runs backward from `root` (one element) through the recorded graph.
void run_backward(TensorImpl& root);

}  // namespace sepnet
