#include "sepnet/core/data/idx.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <string>

#include <zlib.h>

#include "sepnet/core/io/atomic_file.h"

namespace sepnet {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

// Inflates gzip data (one or more concatenated members) to the end, verifying CRCs. Output goes
// to `sink(ptr, n)`; when the sink returns false decoding stops early. Throws on corrupt or
// truncated streams. Returns the number of decompressed bytes seen.
template <class Sink>
uint64_t gunzip(const std::string& in, const std::string& path, Sink&& sink) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(path, "gzip: cannot initialise zlib");
  struct Ender {
    z_stream* zs;
    ~Ender() { inflateEnd(zs); }
  } ender{&zs};

  uint64_t total = 0;
  size_t fed = 0;  // input bytes handed to zlib so far
  constexpr size_t kMaxFeed = 1u << 30;  // avail_in is 32-bit
  unsigned char buf[1 << 16];
  for (;;) {
    if (zs.avail_in == 0 && fed < in.size()) {
      const size_t n = std::min(in.size() - fed, kMaxFeed);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + fed));
      zs.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    const int ret = inflate(&zs, Z_NO_FLUSH);
    const size_t produced = sizeof buf - zs.avail_out;
    if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR)
      fail(path, std::string("gzip corrupt: ") + (zs.msg ? zs.msg : "zlib error " + std::to_string(ret)) +
                     " (after " + std::to_string(total) + " decompressed bytes)");
    total += produced;
    if (produced > 0 && !sink(reinterpret_cast<const char*>(buf), produced)) return total;
    if (ret == Z_STREAM_END) {
      const size_t consumed = fed - zs.avail_in;
      if (consumed == in.size()) return total;
      // `cat a.gz b.gz` style concatenated members decode as one stream.
      const unsigned char* rest = reinterpret_cast<const unsigned char*>(in.data() + consumed);
      if (in.size() - consumed >= 2 && rest[0] == 0x1f && rest[1] == 0x8b) {
        inflateReset(&zs);
        continue;
      }
      fail(path, "gzip corrupt: " + std::to_string(in.size() - consumed) +
                     " bytes of non-gzip data follow the compressed stream");
    }
    if (zs.avail_in == 0 && fed == in.size() && produced == 0)
      fail(path, "gzip corrupt: compressed stream ends unexpectedly after " + std::to_string(total) +
                     " decompressed bytes (truncated .gz file?)");
  }
}

uint32_t read_be32(const std::string& b, size_t at) {
  const auto* p = reinterpret_cast<const unsigned char*>(b.data() + at);
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
  const char* items;  // "images" / "labels"
};
constexpr IdxKind kImages{2051, 3, "IDX image file (unsigned byte, 3 dims: count, rows, cols)", "images"};
constexpr IdxKind kLabels{2049, 1, "IDX label file (unsigned byte, 1 dim: count)", "labels"};

// Everything we need from a validated header.
struct IdxHeader {
  std::vector<uint32_t> dims;
  size_t header_bytes = 0;
  uint64_t data_bytes = 0;
  std::string description;  // "60000 images of 28×28"
};

// Validates the header in `b` (which may be only a prefix of the file). Throws on any problem.
IdxHeader parse_header(const std::string& b, const std::string& path, const IdxKind& kind,
                       const char* suffix) {
  if (b.size() < 4)
    fail(path, "truncated: file has only " + std::to_string(b.size()) + " bytes" + suffix +
                   ", too short for the 4-byte IDX magic number");
  const uint32_t magic = read_be32(b, 0);
  if (magic != kind.magic) {
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
  IdxHeader h;
  h.header_bytes = 4 + 4 * size_t{kind.ndims};
  if (b.size() < h.header_bytes)
    fail(path, "truncated: the IDX header needs " + std::to_string(h.header_bytes) + " bytes but the file has only " +
                   std::to_string(b.size()) + suffix);
  for (unsigned i = 0; i < kind.ndims; ++i) h.dims.push_back(read_be32(b, 4 + 4 * size_t{i}));

  if (kind.ndims == 3)
    h.description = std::to_string(h.dims[0]) + " images of " + std::to_string(h.dims[1]) + "×" +
                    std::to_string(h.dims[2]);
  else
    h.description = std::to_string(h.dims[0]) + " labels";
  for (uint32_t d : h.dims) {
    if (d == 0) fail(path, "zero dimension: header says " + h.description);
    // Sizes end up in `int` fields; anything this large is corruption anyway.
    if (d > static_cast<uint32_t>(std::numeric_limits<int>::max()))
      fail(path, "dimension " + std::to_string(d) + " is absurdly large: header says " + h.description);
  }
  uint64_t total = 1;
  for (uint32_t d : h.dims)
    if (__builtin_mul_overflow(total, uint64_t{d}, &total))
      fail(path, "header says " + h.description + ", which overflows a 64-bit byte count");
  h.data_bytes = total;
  return h;
}

// Reads the file (decompressing gzip) and checks the header and the exact payload size.
// Returns the full decompressed content and the parsed header.
std::pair<std::string, IdxHeader> load_idx(const std::string& path, const IdxKind& kind) {
  std::string raw = read_file_bytes(path);
  if (!is_gzip(raw)) {
    IdxHeader h = parse_header(raw, path, kind, "");
    const uint64_t follow = raw.size() - h.header_bytes;
    if (follow < h.data_bytes)
      fail(path, "truncated: header says " + h.description + " (" + std::to_string(h.data_bytes) +
                     " bytes) but only " + std::to_string(follow) + " bytes follow");
    if (follow > h.data_bytes)
      fail(path, "trailing garbage: header says " + h.description + " (" + std::to_string(h.data_bytes) +
                     " bytes) but " + std::to_string(follow) + " bytes follow (" +
                     std::to_string(follow - h.data_bytes) + " extra)");
    return {std::move(raw), std::move(h)};
  }

  const char* suffix = " after gzip decompression";
  // Decode just the header first (at most 4 + 4*255 bytes), so that the payload buffer is sized by
  // the header and a gzip bomb cannot make us allocate more than the header promises.
  std::string head;
  gunzip(raw, path, [&](const char* p, size_t n) {
    head.append(p, std::min(n, size_t{4 + 4 * 255} - head.size()));
    return head.size() < 4 + 4 * 255;
  });
  IdxHeader h;
  try {
    h = parse_header(head, path, kind, suffix);
  } catch (const std::runtime_error&) {
    // A corrupt stream can decode to a nonsense header; report the corruption, which is the cause.
    gunzip(raw, path, [](const char*, size_t) { return true; });
    throw;
  }
  const uint64_t expected = h.header_bytes + h.data_bytes;
  if (expected > std::numeric_limits<size_t>::max() / 2)
    fail(path, "header says " + h.description + ", which is too large for this machine");
  // Keep the promised bytes, only count the rest; decoding always runs to the end so the CRC is checked.
  std::string content;
  const uint64_t total = gunzip(raw, path, [&](const char* p, size_t n) {
    if (content.size() < expected) content.append(p, std::min<uint64_t>(n, expected - content.size()));
    return true;
  });
  const uint64_t follow = total - h.header_bytes;
  if (follow < h.data_bytes)
    fail(path, "truncated: header says " + h.description + " (" + std::to_string(h.data_bytes) +
                   " bytes) but only " + std::to_string(follow) + " bytes follow" + suffix);
  if (follow > h.data_bytes)
    fail(path, "trailing garbage: header says " + h.description + " (" + std::to_string(h.data_bytes) +
                   " bytes) but " + std::to_string(follow) + " bytes follow" + suffix + " (" +
                   std::to_string(follow - h.data_bytes) + " extra)");
  return {std::move(content), std::move(h)};
}

}  // namespace

IdxImages read_idx_images(const std::string& path) {
  auto [bytes, h] = load_idx(path, kImages);
  IdxImages out;
  out.count = static_cast<int>(h.dims[0]);
  out.rows = static_cast<int>(h.dims[1]);
  out.cols = static_cast<int>(h.dims[2]);
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) + h.header_bytes;
  out.pixels.assign(p, p + h.data_bytes);
  return out;
}

IdxLabels read_idx_labels(const std::string& path) {
  auto [bytes, h] = load_idx(path, kLabels);
  IdxLabels out;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data()) + h.header_bytes;
  out.labels.assign(p, p + h.data_bytes);
  return out;
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
