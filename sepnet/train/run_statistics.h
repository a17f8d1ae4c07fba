// Summaries over seeds shared by the experiments (compare, the MobileNet sweep).
#pragma once
#include <vector>

namespace sepnet::train {

// Mean and sample standard deviation (n − 1; 0 for fewer than two values) of `values`;
// {0, 0} when empty.
struct MeanStd {
  double mean = 0, std = 0;
};
MeanStd mean_and_sample_std(const std::vector<double>& values);
// The median of `values` (mean of the middle two for an even count); 0 when empty.
double median(std::vector<double> values);

}  // namespace sepnet::train
