#include "sepnet/core/data/dataset.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sepnet::data {

ImageDataset to_dataset(const MnistSplit& split, int64_t max_count, float mean, float stddev) {
  const int64_t n = max_count < 0 ? split.images.count : std::min<int64_t>(max_count, split.images.count);
  const int64_t plane = static_cast<int64_t>(split.images.rows) * split.images.cols;
  ImageDataset d;
  d.images = Tensor::empty({n, 1, split.images.rows, split.images.cols});
  float* out = d.images.data();
  const float scale = 1.0f / (255.0f * stddev), shift = -mean / stddev;
  for (int64_t i = 0; i < n * plane; ++i) out[i] = static_cast<float>(split.images.pixels[static_cast<size_t>(i)]) * scale + shift;
  d.labels.assign(split.labels.labels.begin(), split.labels.labels.begin() + n);
  return d;
}

ImageDataset load_dataset(const std::string& dir, bool train, int64_t max_count) {
  return to_dataset(load_mnist_split(dir, train), max_count);
}

BatchSampler::BatchSampler(int64_t count, int batch_size, uint64_t seed, bool shuffle)
    : count_(count), batch_size_(batch_size), seed_(seed), shuffle_(shuffle) {
  if (batch_size < 1) throw std::invalid_argument("batch size must be at least 1");
  start_epoch(0);
}

void BatchSampler::start_epoch(int epoch) {
  order_.resize(static_cast<size_t>(count_));
  for (int64_t i = 0; i < count_; ++i) order_[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  if (shuffle_) {
    Rng rng(seed_ * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
    rng.shuffle(order_);
  }
}

void BatchSampler::gather(int64_t b, const ImageDataset& data, Tensor& x, std::vector<int32_t>& labels) const {
  const int64_t begin = b * batch_size_, end = std::min<int64_t>(begin + batch_size_, count_);
  const int64_t n = end - begin;
  const Shape& s = data.images.shape();
  const int64_t plane = s[1] * s[2] * s[3];
  const Shape want{n, s[1], s[2], s[3]};
  if (!x.defined() || x.shape() != want) x = Tensor::empty(want);
  labels.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t src = order_[static_cast<size_t>(begin + i)];
    std::memcpy(x.data() + i * plane, data.images.data() + src * plane, static_cast<size_t>(plane) * sizeof(float));
    labels[static_cast<size_t>(i)] = data.labels[static_cast<size_t>(src)];
  }
}

}  // namespace sepnet::data
