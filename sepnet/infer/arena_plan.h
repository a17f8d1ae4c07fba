// Activation buffers planned by liveness: each buffer is live from the step that writes it to the
// last step that reads it, and takes a whole arena whose previous occupant is dead by then. A
// chain of layers thus alternates between two arenas (three with a branch or a layout
// conversion), each as large as the largest buffer it ever holds.
#pragma once
#include <cstdint>
#include <vector>

namespace sepnet::infer {

struct BufferLife {
  int64_t floats = 0;
  int first = 0;  // the step that writes it
  int last = 0;   // the last step that reads it (>= first)
};

struct ArenaPlan {
  std::vector<int> arena_of;         // per buffer
  std::vector<int64_t> arena_floats;  // per arena
};

// Buffers must be given in the order of their `first` step. A buffer never shares an arena with
// one that is still read at or after its first step, so no step writes over its own input.
ArenaPlan plan_arenas(const std::vector<BufferLife>& buffers);

}  // namespace sepnet::infer
