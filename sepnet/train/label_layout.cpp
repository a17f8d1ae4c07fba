#include "sepnet/train/label_layout.h"

#include <algorithm>
#include <numeric>

namespace sepnet {

std::vector<double> spread_labels(const std::vector<double>& wanted, double min_gap, double lo, double hi) {
  const size_t n = wanted.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return wanted[a] < wanted[b]; });

  // Clusters of labels that touch are centred on their members' mean wanted position; merging
  // a cluster with the one before it whenever they would overlap gives the least total squared
  // displacement for a fixed order (pool-adjacent-violators).
  struct Cluster {
    size_t first, count;
    double sum_offset_wanted;  // sum over members of wanted − (index in cluster) × gap
    double start() const { return sum_offset_wanted / static_cast<double>(count); }
  };
  std::vector<Cluster> clusters;
  for (size_t k = 0; k < n; ++k) {
    clusters.push_back({k, 1, wanted[order[k]]});
    while (clusters.size() > 1) {
      Cluster& prev = clusters[clusters.size() - 2];
      const Cluster& last = clusters.back();
      if (prev.start() + static_cast<double>(prev.count) * min_gap <= last.start()) break;
      // The merged cluster's members sit at start + i × gap, i counted from prev.first.
      prev.sum_offset_wanted += last.sum_offset_wanted - static_cast<double>(last.count * prev.count) * min_gap;
      prev.count += last.count;
      clusters.pop_back();
    }
  }

  std::vector<double> sorted_pos(n);
  for (const Cluster& c : clusters)
    for (size_t i = 0; i < c.count; ++i) sorted_pos[c.first + i] = c.start() + static_cast<double>(i) * min_gap;

  // Into [lo, hi]: push up from lo, then down from hi, then up from lo again (the last pass
  // wins when the stack is taller than the room).
  for (size_t k = 0; k < n; ++k)
    sorted_pos[k] = std::max(sorted_pos[k], k == 0 ? lo : sorted_pos[k - 1] + min_gap);
  for (size_t k = n; k-- > 0;)
    sorted_pos[k] = std::min(sorted_pos[k], k + 1 == n ? hi : sorted_pos[k + 1] - min_gap);
  for (size_t k = 0; k < n; ++k)
    sorted_pos[k] = std::max(sorted_pos[k], k == 0 ? lo : sorted_pos[k - 1] + min_gap);

  std::vector<double> pos(n);
  for (size_t k = 0; k < n; ++k) pos[order[k]] = sorted_pos[k];
  return pos;
}

}  // namespace sepnet
