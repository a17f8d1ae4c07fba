// A small learnable image set for training tests: 4 classes, class c lights quadrant c of a
// 28×28 image over uniform noise (the same task as tests/make_idx.py writes to IDX files).
#pragma once
#include <cstdint>

#include "sepnet/core/data/dataset.h"
#include "sepnet/core/random.h"

namespace sepnet::testing {

inline data::ImageDataset quadrants(int count, uint64_t seed) {
  Rng rng(seed);
  MnistSplit split;
  split.images.count = count;
  split.images.rows = split.images.cols = 28;
  split.images.pixels.resize(static_cast<size_t>(count) * 784);
  for (int i = 0; i < count; ++i) {
    const int cls = i % 4;
    for (int p = 0; p < 784; ++p) {
      const int quadrant = (p / 28 >= 14) * 2 + (p % 28 >= 14);
      split.images.pixels[static_cast<size_t>(i * 784 + p)] =
          static_cast<uint8_t>(rng.uniform(0, 60) + (quadrant == cls ? 150 : 0));
    }
    split.labels.labels.push_back(static_cast<uint8_t>(cls));
  }
  return data::to_dataset(std::move(split));
}

}  // namespace sepnet::testing
