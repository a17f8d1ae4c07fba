#include "sepnet/core/data/idx.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <zlib.h>

#include "sepnet/core/io/atomic_file.h"

namespace sepnet {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

constexpr size_t kChunk = size_t{1} << 16;
// What a gzip payload starts with; it then grows as inflated bytes arrive.
constexpr uint64_t kGzipInitialReserve = uint64_t{1} << 20;
// Trailing data is counted up to this much for the message, so a gzip bomb cannot keep us busy.
constexpr uint64_t kMaxTrailingCount = uint64_t{64} << 20;

// The file's bytes, with the (up to two) read to sniff the gzip magic put back in front.
class FileBytes {
 public:
  FileBytes(InputFile& file, const unsigned char* prefix, size_t n)
      : file_(file), prefix_size_(std::min<size_t>(n, sizeof prefix_)) {
    std::memcpy(prefix_, prefix, prefix_size_);
  }
  size_t read(unsigned char* out, size_t n) {
    if (used_ < prefix_size_) {
      const size_t k = std::min(n, prefix_size_ - used_);
      std::memcpy(out, prefix_ + used_, k);
      used_ += k;
      return k;
    }
    const size_t got = file_.read_some(out, n);
    read_ += got;
    return got;
  }
  // Bytes not yet read, by the size the file had when opened.
  uint64_t remaining() const {
    const uint64_t consumed = read_ + prefix_size_;
    return file_.size() > consumed ? file_.size() - consumed : 0;
  }

 private:
  InputFile& file_;
  unsigned char prefix_[2] = {0, 0};
  size_t prefix_size_;
  size_t used_ = 0;
  uint64_t read_ = 0;
};

// Where the IDX bytes come from: the file itself or the gzip stream it holds.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes (n > 0); returns 0 only at the end of the data.
  virtual size_t read(unsigned char* out, size_t n) = 0;
  // Reads until `n` bytes or the end; returns how many.
  size_t read_up_to(unsigned char* out, size_t n) {
    size_t done = 0;
    while (done < n) {
      const size_t got = read(out + done, n - done);
      if (got == 0) break;
      done += got;
    }
    return done;
  }
  // Reads to the end, stopping once `limit` bytes were seen; returns how many.
  uint64_t count_rest(uint64_t limit) {
    unsigned char buf[kChunk];
    uint64_t total = 0;
    while (total < limit) {
      const size_t got = read(buf, sizeof buf);
      if (got == 0) break;
      total += got;
    }
    return total;
  }
};

class RawSource final : public ByteSource {
 public:
  explicit RawSource(FileBytes& in) : in_(in) {}
  size_t read(unsigned char* out, size_t n) override { return in_.read(out, n); }

 private:
  FileBytes& in_;
};

// Inflates gzip data (one or more concatenated members, CRCs verified) in chunks as it is read:
// nothing is sized from what the stream claims. Throws on corrupt or truncated streams.
class GzipSource final : public ByteSource {
 public:
  GzipSource(FileBytes& in, const std::string& path) : in_(in), path_(path) {
    if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) fail(path, "gzip: cannot initialise zlib");
  }
  ~GzipSource() override { inflateEnd(&zs_); }
  GzipSource(const GzipSource&) = delete;
  GzipSource& operator=(const GzipSource&) = delete;
  size_t read(unsigned char* out, size_t n) override;

 private:
  bool refill();
  bool next_member();

  FileBytes& in_;
  const std::string& path_;
  z_stream zs_{};
  unsigned char buf_[kChunk];
  bool done_ = false;
  uint64_t produced_ = 0;
};

size_t GzipSource::read(unsigned char* out, size_t n) {
  n = std::min(n, kChunk);
  while (!done_ && n > 0) {
    if (zs_.avail_in == 0 && !refill())
      fail(path_, "gzip corrupt: compressed stream ends unexpectedly after " + std::to_string(produced_) +
                      " decompressed bytes (truncated .gz file?)");
    zs_.next_out = out;
    zs_.avail_out = static_cast<uInt>(n);
    const int ret = inflate(&zs_, Z_NO_FLUSH);
    const size_t produced = n - zs_.avail_out;
    // Z_BUF_ERROR only means no progress this call; the loop refills or fails above.
    if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
      fail(path_, std::string("gzip corrupt: ") + (zs_.msg ? zs_.msg : "zlib error " + std::to_string(ret)) +
                      " (after " + std::to_string(produced_) + " decompressed bytes)");
    produced_ += produced;
    if (ret == Z_STREAM_END) done_ = !next_member();
    if (produced > 0) return produced;
  }
  return 0;
}

bool GzipSource::refill() {
  zs_.next_in = buf_;
  zs_.avail_in = static_cast<uInt>(in_.read(buf_, sizeof buf_));
  return zs_.avail_in > 0;
}

// After a member's end: `cat a.gz b.gz` style concatenated members decode as one stream; anything
// else after the stream is corruption.
bool GzipSource::next_member() {
  if (zs_.avail_in < 2) {  // gather two bytes, if the file has them, to look for the next magic
    size_t have = zs_.avail_in;
    if (have > 0) std::memmove(buf_, zs_.next_in, have);
    while (have < 2) {
      const size_t got = in_.read(buf_ + have, sizeof buf_ - have);
      if (got == 0) break;
      have += got;
    }
    zs_.next_in = buf_;
    zs_.avail_in = static_cast<uInt>(have);
  }
  if (zs_.avail_in == 0) return false;
  if (zs_.avail_in >= 2 && zs_.next_in[0] == 0x1f && zs_.next_in[1] == 0x8b) {
    inflateReset(&zs_);
    return true;
  }
  fail(path_, "gzip corrupt: " + std::to_string(zs_.avail_in + in_.remaining()) +
                  " bytes of non-gzip data follow the compressed stream");
}

uint32_t read_be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hex32(uint32_t v) {
  char s[16];
  std::snprintf(s, sizeof s, "0x%08X", v);
  return s;
}

const char* idx_type_name(unsigned code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown type";
  }
}

struct IdxKind {
  uint32_t magic;     // 2051 or 2049
  unsigned ndims;     // 3 or 1
  const char* what;   // "IDX image file" ...
  const char* items;  // "pixels" / "labels"
};
constexpr IdxKind kImages{2051, 3, "IDX image file (unsigned byte, 3 dims: count, rows, cols)", "pixels"};
constexpr IdxKind kLabels{2049, 1, "IDX label file (unsigned byte, 1 dim: count)", "labels"};

// Everything we need from a validated header.
struct IdxHeader {
  uint32_t dims[3] = {0, 0, 0};
  size_t header_bytes = 0;
  uint64_t data_bytes = 0;
  std::string description;  // "60000 images of 28×28"
  std::string declared;     // "header declares 47040000 bytes of pixels (60000 images of 28×28)"
};

[[noreturn]] void wrong_magic(const std::string& path, uint32_t magic, const IdxKind& kind) {
  std::string msg = "wrong magic number " + hex32(magic) + " = " + std::to_string(magic) + " (expected " +
                    hex32(kind.magic) + " = " + std::to_string(kind.magic) + " for an " + kind.what + ")";
  const unsigned zero_bytes = magic >> 16, type = (magic >> 8) & 0xFF, ndims = magic & 0xFF;
  if (zero_bytes != 0)
    msg += ": not an IDX file (the first two bytes must be zero)";
  else if (magic == kImages.magic || magic == kLabels.magic)
    msg += std::string(": this is an ") + (magic == kImages.magic ? kImages.what : kLabels.what);
  else if (type != 0x08)
    msg += ": element type 0x" + hex32(type).substr(8) + " (" + idx_type_name(type) +
           ") is not supported, only 0x08 (unsigned byte)";
  else if (ndims != kind.ndims)
    msg += ": file has " + std::to_string(ndims) + " dimensions, expected " + std::to_string(kind.ndims);
  fail(path, msg);
}

// Checks the declared sizes against the limits in idx.h before anything is sized from them, and
// fills in the payload size (which cannot overflow once the count and sides are within limits).
void size_payload(const std::string& path, IdxHeader& h, const IdxKind& kind) {
  for (unsigned i = 0; i < kind.ndims; ++i)
    if (h.dims[i] == 0) fail(path, "zero dimension: header says " + h.description);
  if (h.dims[0] > kIdxMaxCount)
    fail(path, "too large: header says " + h.description + "; at most " + std::to_string(kIdxMaxCount) + " " +
                   (kind.ndims == 3 ? "images" : "labels") + " are accepted");
  if (kind.ndims == 3 && (h.dims[1] > kIdxMaxSide || h.dims[2] > kIdxMaxSide))
    fail(path, "too large: header says " + h.description + "; images may be at most " + std::to_string(kIdxMaxSide) +
                   "×" + std::to_string(kIdxMaxSide) + " pixels");
  h.data_bytes = 1;
  for (unsigned i = 0; i < kind.ndims; ++i) h.data_bytes *= h.dims[i];
  h.declared =
      "header declares " + std::to_string(h.data_bytes) + " bytes of " + kind.items + " (" + h.description + ")";
  if (h.data_bytes > kIdxMaxPixelBytes)
    fail(path, "too large: " + h.declared + "; at most " + std::to_string(kIdxMaxPixelBytes) + " bytes are accepted");
}

// Reads and validates the header from the front of `src`. `suffix` qualifies byte counts (" after
// gzip decompression").
IdxHeader read_header(ByteSource& src, const std::string& path, const IdxKind& kind, const char* suffix) {
  unsigned char b[4 + 4 * 3];
  const size_t got = src.read_up_to(b, 4);
  if (got < 4)
    fail(path, "truncated: file has only " + std::to_string(got) + " bytes" + suffix +
                   ", too short for the 4-byte IDX magic number");
  const uint32_t magic = read_be32(b);
  if (magic != kind.magic) wrong_magic(path, magic, kind);
  IdxHeader h;
  h.header_bytes = 4 + 4 * size_t{kind.ndims};
  const size_t dims_got = src.read_up_to(b + 4, h.header_bytes - 4);
  if (4 + dims_got < h.header_bytes)
    fail(path, "truncated: the IDX header needs " + std::to_string(h.header_bytes) + " bytes but the file has only " +
                   std::to_string(4 + dims_got) + suffix);
  for (unsigned i = 0; i < kind.ndims; ++i) h.dims[i] = read_be32(b + 4 + 4 * size_t{i});
  if (kind.ndims == 3)
    h.description = std::to_string(h.dims[0]) + " images of " + std::to_string(h.dims[1]) + "×" +
                    std::to_string(h.dims[2]);
  else
    h.description = std::to_string(h.dims[0]) + " labels";
  size_payload(path, h, kind);
  return h;
}

// Reads the payload the header declares, growing the buffer only as bytes arrive (from at most
// `reserve` bytes), then makes sure nothing follows it.
std::vector<uint8_t> read_payload(ByteSource& src, const std::string& path, const IdxHeader& h, const char* suffix,
                                  uint64_t reserve) {
  std::vector<uint8_t> out;
  out.reserve(static_cast<size_t>(std::min(h.data_bytes, reserve)));
  while (out.size() < h.data_bytes) {
    const size_t old = out.size();
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, h.data_bytes - old));
    out.resize(old + want);
    const size_t got = src.read_up_to(out.data() + old, want);
    out.resize(old + got);
    if (got < want) fail(path, "truncated: " + h.declared + ", file holds " + std::to_string(out.size()) + suffix);
  }
  const uint64_t extra = src.count_rest(kMaxTrailingCount);
  if (extra == kMaxTrailingCount)
    fail(path, "trailing data: " + h.declared + ", file holds at least " + std::to_string(extra) +
                   " more bytes" + suffix + " (stopped counting)");
  if (extra > 0)
    fail(path, "trailing data: " + h.declared + ", file holds " + std::to_string(h.data_bytes + extra) + suffix +
                   " (" + std::to_string(extra) + " extra)");
  return out;
}

struct IdxContent {
  IdxHeader header;
  std::vector<uint8_t> data;
};

IdxContent read_raw(FileBytes& bytes, const std::string& path, uint64_t file_size, const IdxKind& kind) {
  RawSource src(bytes);
  IdxHeader h = read_header(src, path, kind, "");
  // The file's size settles it before the payload is allocated; read_payload still catches a file
  // that changes while being read.
  const uint64_t follow = file_size > h.header_bytes ? file_size - h.header_bytes : 0;
  if (follow < h.data_bytes) fail(path, "truncated: " + h.declared + ", file holds " + std::to_string(follow));
  if (follow > h.data_bytes)
    fail(path, "trailing data: " + h.declared + ", file holds " + std::to_string(follow) + " (" +
                   std::to_string(follow - h.data_bytes) + " extra)");
  std::vector<uint8_t> data = read_payload(src, path, h, "", h.data_bytes);
  return {std::move(h), std::move(data)};
}

IdxContent read_gzip(FileBytes& bytes, const std::string& path, const IdxKind& kind) {
  const char* suffix = " after gzip decompression";
  GzipSource src(bytes, path);
  IdxHeader h;
  try {
    h = read_header(src, path, kind, suffix);
  } catch (const std::runtime_error&) {
    // A corrupt stream can decode to a nonsense header; report the corruption, which is the cause.
    src.count_rest(kMaxTrailingCount);
    throw;
  }
  std::vector<uint8_t> data = read_payload(src, path, h, suffix, kGzipInitialReserve);
  return {std::move(h), std::move(data)};
}

// Opens `path` (refusing anything but a regular file) and reads it, raw or gzip by its first bytes.
IdxContent read_idx(const std::string& path, const IdxKind& kind) {
  InputFile file(path);
  unsigned char magic[2];
  const size_t n = file.read_up_to(magic, 2);
  FileBytes bytes(file, magic, n);
  if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) return read_gzip(bytes, path, kind);
  return read_raw(bytes, path, file.size(), kind);
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  IdxContent c = read_idx(path, kImages);
  IdxImages out;
  out.count = static_cast<int>(c.header.dims[0]);
  out.rows = static_cast<int>(c.header.dims[1]);
  out.cols = static_cast<int>(c.header.dims[2]);
  out.pixels = std::move(c.data);
  return out;
}

IdxLabels read_idx_labels(const std::string& path) {
  IdxContent c = read_idx(path, kLabels);
  return IdxLabels{std::move(c.data)};
}

namespace {

// Finds `<dir>/<stem>` with the usual spellings; throws listing every candidate if none exists.
std::string find_mnist_file(const std::string& dir, const std::string& prefix, const std::string& kind,
                            const std::string& idx_suffix) {
  namespace fs = std::filesystem;
  const std::string base = dir.empty() ? std::string(".") : dir;
  const std::vector<std::string> names = {
      prefix + "-" + kind + "-" + idx_suffix,
      prefix + "-" + kind + "-" + idx_suffix + ".gz",
      prefix + "-" + kind + "." + idx_suffix,  // spelling used by some mirrors
      prefix + "-" + kind + "." + idx_suffix + ".gz",
  };
  std::string looked;
  for (const auto& n : names) {
    const fs::path candidate = fs::path(base) / n;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
    looked += (looked.empty() ? "" : ", ") + candidate.string();
  }
  std::error_code ec;
  const std::string why = fs::is_directory(base, ec) ? "" : " (the directory does not exist)";
  throw std::runtime_error(base + ": missing MNIST " + (prefix == "train" ? "training" : "test") + " " + kind +
                           " file" + why + "; looked for " + looked +
                           " (run scripts/fetch-mnist.sh to download MNIST into data/mnist)");
}

}  // namespace

MnistSplit load_mnist_split(const std::string& dir, bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_path = find_mnist_file(dir, prefix, "images", "idx3-ubyte");
  const std::string labels_path = find_mnist_file(dir, prefix, "labels", "idx1-ubyte");
  MnistSplit split{read_idx_images(images_path), read_idx_labels(labels_path)};
  if (static_cast<size_t>(split.images.count) != split.labels.labels.size())
    throw std::runtime_error(images_path + " and " + labels_path + ": image/label count mismatch: " +
                             std::to_string(split.images.count) + " images but " +
                             std::to_string(split.labels.labels.size()) + " labels");
  for (size_t i = 0; i < split.labels.labels.size(); ++i)
    if (split.labels.labels[i] > 9)
      throw std::runtime_error(labels_path + ": label " + std::to_string(split.labels.labels[i]) + " at index " +
                               std::to_string(i) + " is out of range 0..9");
  return split;
}

}  // namespace sepnet
