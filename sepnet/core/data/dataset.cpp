#include "sepnet/core/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace sepnet::data {

void ImageDataset::resize_to(int64_t side) {
  if (side == rows && side == cols)
    resize_.reset();
  else
    resize_ = std::make_shared<const BilinearResize>(rows, cols, side, side);
}

void ImageDataset::normalized_image(int64_t i, float* out) const {
  const float scale = 1.0f / (255.0f * stddev), shift = -mean / stddev;
  const int64_t n = image_elements();
  const uint8_t* in = pixels.data() + i * n;
  if (resize_) {
    const int64_t plane = rows * cols, out_plane = resize_->out_rows() * resize_->out_cols();
    for (int64_t c = 0; c < channels; ++c) resize_->apply(in + c * plane, out + c * out_plane, scale, shift);
    return;
  }
  for (int64_t k = 0; k < n; ++k) out[k] = static_cast<float>(in[k]) * scale + shift;
}

Tensor ImageDataset::normalized_images() const {
  Tensor t = Tensor::empty({size(), channels, sample_rows(), sample_cols()});
  for (int64_t i = 0; i < size(); ++i) normalized_image(i, t.data() + i * sample_elements());
  return t;
}

std::pair<float, float> pixel_statistics(const std::vector<uint8_t>& pixels) {
  if (pixels.empty()) return {0.0f, 1.0f};
  int64_t histogram[256] = {};
  for (uint8_t p : pixels) ++histogram[p];
  double sum = 0, sum_sq = 0;
  for (int v = 0; v < 256; ++v) {
    const double x = v / 255.0;
    sum += x * static_cast<double>(histogram[v]);
    sum_sq += x * x * static_cast<double>(histogram[v]);
  }
  const double n = static_cast<double>(pixels.size()), mean = sum / n;
  const double stddev = std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
  auto round4 = [](double v) { return static_cast<float>(std::round(v * 1e4) / 1e4); };
  return {round4(mean), stddev * 1e4 < 0.5 ? 1.0f : round4(stddev)};
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
  MnistSplit split = load_mnist_split(dir, train);
  const auto [mean, stddev] = pixel_statistics(split.images.pixels);
  ImageDataset d = to_dataset(std::move(split), max_count, mean, stddev);
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
  const int64_t plane = data.sample_elements();
  const Shape want{n, data.channels, data.sample_rows(), data.sample_cols()};
  if (!x.defined() || x.shape() != want) x = Tensor::empty(want);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t src = order_[static_cast<size_t>(begin + i)];
    data.normalized_image(src, x.data() + i * plane);
    labels[static_cast<size_t>(i)] = data.labels[static_cast<size_t>(src)];
  }
  return n;
}

}  // namespace sepnet::data
