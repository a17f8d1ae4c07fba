#pragma once
// Reader for the IDX format used by MNIST / Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
// a big-endian header (magic 0x0000TTDD: TT = element type, DD = number of dimensions, then DD
// u32 sizes) followed by the raw elements. Files may be raw or gzip-compressed (detected by the
// 1f 8b magic, not by the file name). Only unsigned-byte elements (TT = 0x08) are supported.
// Every malformed input throws std::runtime_error naming the file and the problem; a FIFO, device
// or directory is refused before reading (see InputFile in core/io/atomic_file.h).

#include <cstdint>
#include <string>
#include <vector>

namespace sepnet {

struct IdxImages {
  int count = 0, rows = 0, cols = 0;
  std::vector<uint8_t> pixels;  // count * rows * cols, row-major, image after image
};

struct IdxLabels {
  std::vector<uint8_t> labels;
};

// Limits on what a header may declare, checked before anything is allocated (beyond them the
// file is refused as "too large"). Within them memory follows the bytes actually present: a raw
// file's size is checked against the header before the payload is allocated, and a gzip stream's
// output is stored as it inflates (in 64 KiB steps, starting from at most 1 MiB reserved), so a
// small file whose header promises gigabytes fails "truncated" having allocated a few MB. The
// caps are far above any IDX data set (MNIST's training images are 47 MB) and keep sizes in `int`.
inline constexpr uint32_t kIdxMaxCount = 2147483647;          // images or labels
inline constexpr uint32_t kIdxMaxSide = 32768;                // rows and cols, each
inline constexpr uint64_t kIdxMaxPixelBytes = uint64_t{1} << 32;  // count * rows * cols: 4 GiB

// Magic 2051 (0x00000803): dims = count, rows, cols; all non-zero and within the limits above.
IdxImages read_idx_images(const std::string& path);

// Magic 2049 (0x00000801): dims = count; non-zero and within the limit above.
IdxLabels read_idx_labels(const std::string& path);

struct MnistSplit {
  IdxImages images;
  IdxLabels labels;
};

// Loads the training split (train-images-idx3-ubyte / train-labels-idx1-ubyte) or the test split
// (t10k-...) from `dir`, accepting each file with or without a ".gz" suffix (so both data/mnist/
// and Debian's /usr/share/datasets/fashion-mnist/ work). Checks that image and label counts match
// and that every label is in 0..9.
MnistSplit load_mnist_split(const std::string& dir, bool train);

}  // namespace sepnet
