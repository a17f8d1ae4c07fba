#include "sepnet/infer/arena_plan.h"

#include <algorithm>
#include <stdexcept>

namespace sepnet::infer {

ArenaPlan plan_arenas(const std::vector<BufferLife>& buffers) {
  ArenaPlan plan;
  plan.arena_of.assign(buffers.size(), -1);
  std::vector<int> busy_until;  // per arena: the last step its occupant is read
  for (size_t b = 0; b < buffers.size(); ++b) {
    const BufferLife& life = buffers[b];
    if (b > 0 && life.first < buffers[b - 1].first) throw std::logic_error("plan_arenas: buffers out of order");
    // Among the free arenas, the smallest one that already fits; else the largest (grown).
    int best = -1;
    for (size_t a = 0; a < plan.arena_floats.size(); ++a) {
      if (busy_until[a] >= life.first) continue;
      const bool fits = plan.arena_floats[a] >= life.floats;
      if (best < 0) { best = static_cast<int>(a); continue; }
      const bool best_fits = plan.arena_floats[best] >= life.floats;
      if (fits ? (!best_fits || plan.arena_floats[a] < plan.arena_floats[best])
               : (!best_fits && plan.arena_floats[a] > plan.arena_floats[best]))
        best = static_cast<int>(a);
    }
    if (best < 0) {
      best = static_cast<int>(plan.arena_floats.size());
      plan.arena_floats.push_back(0);
      busy_until.push_back(-1);
    }
    plan.arena_floats[best] = std::max(plan.arena_floats[best], life.floats);
    busy_until[best] = life.last;
    plan.arena_of[b] = best;
  }
  return plan;
}

}  // namespace sepnet::infer
