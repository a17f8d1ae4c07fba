#include "sepnet/train/run_statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sepnet::train {

MeanStd mean_and_sample_std(const std::vector<double>& values) {
  MeanStd r;
  const double n = static_cast<double>(values.size());
  if (n == 0) return r;
  r.mean = std::accumulate(values.begin(), values.end(), 0.0) / n;
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  r.std = n > 1 ? std::sqrt(ss / (n - 1)) : 0.0;
  return r;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t m = values.size() / 2;
  return values.size() % 2 ? values[m] : 0.5 * (values[m - 1] + values[m]);
}

}  // namespace sepnet::train
