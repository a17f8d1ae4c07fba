#include "sepnet/core/data/dataset.h"

#include <algorithm>
#include <stdexcept>

namespace sepnet::data {

void ImageDataset::normalized_image(int64_t i, float* out) const {
  const float scale = 1.0f / (255.0f * stddev), shift = -mean / stddev;
  const int64_t n = image_elements();
  const uint8_t* in = pixels.data() + i * n;
  for (int64_t k = 0; k < n; ++k) out[k] = static_cast<float>(in[k]) * scale + shift;
}

Tensor ImageDataset::normalized_images() const {
  Tensor t = Tensor::empty({size(), channels, rows, cols});
  for (int64_t i = 0; i < size(); ++i) normalized_image(i, t.data() + i * image_elements());
  return t;
}

namespace {
ImageDataset dataset_header(const MnistSplit& split, int64_t max_count, float mean, float stddev) {
  const int64_t n = max_count < 0 ? split.images.count : std::min<int64_t>(max_count, split.images.count);
  ImageDataset d;
  d.rows = split.images.rows;
  d.cols = split.images.cols;
  d.mean = mean;
  d.stddev = stddev;
  d.labels.assign(split.labels.labels.begin(), split.labels.labels.begin() + n);
  return d;
}
}  // namespace

ImageDataset to_dataset(const MnistSplit& split, int64_t max_count, float mean, float stddev) {
  ImageDataset d = dataset_header(split, max_count, mean, stddev);
  d.pixels.assign(split.images.pixels.begin(), split.images.pixels.begin() + d.size() * d.image_elements());
  return d;
}

ImageDataset to_dataset(MnistSplit&& split, int64_t max_count, float mean, float stddev) {
  ImageDataset d = dataset_header(split, max_count, mean, stddev);
  d.pixels = std::move(split.images.pixels);
  d.pixels.resize(static_cast<size_t>(d.size() * d.image_elements()));
  if (d.pixels.capacity() > d.pixels.size() + d.pixels.size() / 8) d.pixels.shrink_to_fit();
  return d;
}

ImageDataset load_dataset(const std::string& dir, bool train, int64_t max_count) {
  ImageDataset d = to_dataset(load_mnist_split(dir, train), max_count);
  d.source = dir + (train ? " (training images)" : " (test images)");
  return d;
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

int64_t BatchSampler::batch_rows(int64_t b) const {
  const int64_t begin = b * batch_size_;
  return std::min<int64_t>(begin + batch_size_, count_) - begin;
}

int64_t BatchSampler::gather_share(int64_t b, const ImageDataset& data, Tensor& x, std::vector<int32_t>& labels,
                                   int rank, int ranks) const {
  const int64_t rows = batch_rows(b);
  const int64_t begin = b * batch_size_ + rows * rank / ranks;
  const int64_t n = b * batch_size_ + rows * (rank + 1) / ranks - begin;
  labels.resize(static_cast<size_t>(n));
  if (n == 0) return 0;
  const int64_t plane = data.image_elements();
  const Shape want{n, data.channels, data.rows, data.cols};
  if (!x.defined() || x.shape() != want) x = Tensor::empty(want);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t src = order_[static_cast<size_t>(begin + i)];
    data.normalized_image(src, x.data() + i * plane);
    labels[static_cast<size_t>(i)] = data.labels[static_cast<size_t>(src)];
  }
  return n;
}

}  // namespace sepnet::data
