// IDX reader: good raw and gzip files, every malformed case rejected with the path and the problem.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <new>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "sepnet/core/data/idx.h"

#include "temp_dir.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

using sepnet::testing::TempDir;

void put_be32(std::string& s, uint32_t v) {
  s.push_back(char(v >> 24));
  s.push_back(char(v >> 16));
  s.push_back(char(v >> 8));
  s.push_back(char(v));
}

std::string images_bytes(uint32_t n, uint32_t r, uint32_t c, const std::vector<uint8_t>& px, uint32_t magic = 2051) {
  std::string s;
  put_be32(s, magic);
  put_be32(s, n);
  put_be32(s, r);
  put_be32(s, c);
  s.append(px.begin(), px.end());
  return s;
}

std::string labels_bytes(const std::vector<uint8_t>& labels, uint32_t magic = 2049) {
  std::string s;
  put_be32(s, magic);
  put_be32(s, static_cast<uint32_t>(labels.size()));
  s.append(labels.begin(), labels.end());
  return s;
}

std::string gzip(const std::string& in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed, int max_value = 255) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, max_value);
  std::vector<uint8_t> v(n);
  for (auto& x : v) x = static_cast<uint8_t>(d(rng));
  return v;
}

// True in AddressSanitizer builds (SEPNET_SANITIZE), whose shadow memory rules out RLIMIT_AS.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// Runs `read` in a child process whose address space may grow only `headroom` bytes beyond its
// current size, so an allocation sized from a header (gigabytes) fails there with std::bad_alloc.
// Returns what `read` threw: the message, "std::bad_alloc", or "no error".
std::string error_under_memory_cap(const std::function<void()>& read, size_t headroom) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    std::string message = "no error";
    long pages = 0;
    if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
      if (std::fscanf(statm, "%ld", &pages) != 1) pages = 0;
      std::fclose(statm);
    }
    const rlim_t cap = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + headroom;
    const rlimit limit{cap, cap};
    if (pages == 0 || ::setrlimit(RLIMIT_AS, &limit) != 0) message = "cannot set RLIMIT_AS";
    else {
      try {
        read();
      } catch (const std::bad_alloc&) {
        message = "std::bad_alloc";
      } catch (const std::exception& e) {
        message = e.what();
      }
    }
    const ssize_t written = ::write(fds[1], message.data(), message.size());
    ::_exit(written == static_cast<ssize_t>(message.size()) ? 0 : 1);
  }
  ::close(fds[1]);
  std::string message;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child message: " << message);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return message;
}

}  // namespace

TEST_CASE("idx: raw image and label files read back exactly", "[idx]") {
  TempDir dir;
  const auto px = random_bytes(7 * 5 * 3, 1);
  const auto lb = random_bytes(7, 2, 9);
  write(dir.file("img"), images_bytes(7, 5, 3, px));
  write(dir.file("lbl"), labels_bytes(lb));
  const auto images = sepnet::read_idx_images(dir.file("img"));
  CHECK(images.count == 7);
  CHECK(images.rows == 5);
  CHECK(images.cols == 3);
  CHECK(images.pixels == px);
  CHECK(sepnet::read_idx_labels(dir.file("lbl")).labels == lb);
}

TEST_CASE("idx: gzip files are detected by magic and read back exactly", "[idx]") {
  TempDir dir;
  const auto px = random_bytes(100 * 28 * 28, 3);  // > 64 KiB so inflate loops over several output chunks
  const auto lb = random_bytes(100, 4, 9);
  // No .gz suffix on purpose: detection is by content.
  write(dir.file("img"), gzip(images_bytes(100, 28, 28, px)));
  write(dir.file("lbl.gz"), gzip(labels_bytes(lb)));
  const auto images = sepnet::read_idx_images(dir.file("img"));
  CHECK(images.count == 100);
  CHECK(images.rows == 28);
  CHECK(images.cols == 28);
  CHECK(images.pixels == px);
  CHECK(sepnet::read_idx_labels(dir.file("lbl.gz")).labels == lb);

  SECTION("concatenated gzip members decode as one stream") {
    const std::string all = images_bytes(100, 28, 28, px);
    write(dir.file("multi"), gzip(all.substr(0, 1000)) + gzip(all.substr(1000)));
    CHECK(sepnet::read_idx_images(dir.file("multi")).pixels == px);
  }
}

TEST_CASE("idx: malformed raw files are rejected with path and problem", "[idx]") {
  TempDir dir;
  const std::string p = dir.file("bad");
  const auto px = random_bytes(4 * 2 * 2, 5);

  SECTION("missing file") {
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(dir.file("nope")), Contains(dir.file("nope")) && Contains("cannot open"));
  }
  SECTION("empty file") {
    write(p, "");
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("truncated") && Contains("magic"));
  }
  SECTION("truncated data") {
    write(p, images_bytes(4, 2, 2, px).substr(0, 16 + 10));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) &&
                            Contains("truncated: header declares 16 bytes of pixels (4 images of 2×2), file holds 10"));
  }
  SECTION("truncated header") {
    write(p, images_bytes(4, 2, 2, px).substr(0, 9));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("truncated") && Contains("header needs 16 bytes"));
  }
  SECTION("trailing data") {
    write(p, images_bytes(4, 2, 2, px) + "xyz");
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) && Contains("trailing data: header declares 16 bytes of pixels (4 images of 2×2), "
                                                "file holds 19 (3 extra)"));
    write(p, labels_bytes({1, 2, 3}) + "x");
    REQUIRE_THROWS_WITH(sepnet::read_idx_labels(p),
                        Contains(p) && Contains("trailing data: header declares 3 bytes of labels (3 labels), "
                                                "file holds 4 (1 extra)"));
  }
  SECTION("wrong magic: label file given as images and vice versa") {
    write(p, labels_bytes({1, 2, 3}));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) && Contains("wrong magic") && Contains("2049") && Contains("expected 0x00000803 = 2051") &&
                            Contains("label file"));
    write(p, images_bytes(4, 2, 2, px));
    REQUIRE_THROWS_WITH(sepnet::read_idx_labels(p), Contains(p) && Contains("wrong magic") && Contains("expected 0x00000801 = 2049"));
  }
  SECTION("wrong magic: not IDX at all") {
    write(p, "hello world, this is not an IDX file");
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("wrong magic") && Contains("not an IDX file"));
  }
  SECTION("wrong element type") {
    write(p, images_bytes(4, 2, 2, px, 0x00000D03));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("wrong magic") && Contains("0x0D (float32)"));
  }
  SECTION("dims count != 3") {
    std::string s;
    put_be32(s, 0x00000802);
    put_be32(s, 4);
    put_be32(s, 4);
    s.append(16, '\0');
    write(p, s);
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("2 dimensions, expected 3"));
  }
  SECTION("zero dimensions") {
    write(p, images_bytes(4, 0, 2, {}));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("zero dimension") && Contains("4 images of 0×2"));
    write(p, images_bytes(0, 2, 2, {}));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("zero dimension"));
    write(p, labels_bytes({}));
    REQUIRE_THROWS_WITH(sepnet::read_idx_labels(p), Contains(p) && Contains("zero dimension"));
  }
  SECTION("sizes beyond the documented limits are refused before allocating") {
    write(p, images_bytes(0x7fffffff, 0x7fffffff, 0x7fffffff, px));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) && Contains("too large") && Contains("at most 32768×32768 pixels"));
    write(p, images_bytes(100000, 1000, 1000, px));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) && Contains("too large: header declares 100000000000 bytes of pixels") &&
                            Contains("at most 4294967296"));
    write(p, images_bytes(0xffffffff, 2, 2, px));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) && Contains("too large") && Contains("at most 2147483647 images"));
    std::string labels;
    put_be32(labels, 2049);
    put_be32(labels, 0x80000000u);
    write(p, labels);
    REQUIRE_THROWS_WITH(sepnet::read_idx_labels(p),
                        Contains(p) && Contains("too large") && Contains("at most 2147483647 labels"));
  }
  SECTION("the largest declarable payload is only allocated once the file's size matches") {
    write(p, images_bytes(65536, 256, 256, px));  // exactly the 4 GiB limit
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) && Contains("truncated: header declares 4294967296 bytes of pixels") &&
                            Contains("file holds 16"));
  }
}

TEST_CASE("idx: malformed gzip files are rejected with path and problem", "[idx]") {
  TempDir dir;
  const std::string p = dir.file("bad.gz");
  const auto px = random_bytes(50 * 8 * 8, 6);
  const std::string good = images_bytes(50, 8, 8, px);
  const std::string gz = gzip(good);

  SECTION("truncated compressed stream") {
    write(p, gz.substr(0, gz.size() / 2));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("gzip corrupt") && Contains("truncated"));
  }
  SECTION("corrupted compressed bytes") {
    std::string bad = gz;
    for (size_t i = 20; i < 60 && i < bad.size(); ++i) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    write(p, bad);
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("gzip corrupt"));
  }
  SECTION("bad CRC in trailer") {
    std::string bad = gz;
    bad[bad.size() - 6] = static_cast<char>(bad[bad.size() - 6] ^ 1);
    write(p, bad);
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("gzip corrupt"));
  }
  SECTION("non-gzip bytes after the stream") {
    write(p, gz + "junk");
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("gzip corrupt") && Contains("4 bytes of non-gzip data"));
  }
  SECTION("valid gzip of truncated IDX data") {
    write(p, gzip(good.substr(0, good.size() - 5)));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) && Contains("truncated: header declares 3200 bytes of pixels (50 images of 8×8), "
                                                "file holds 3195 after gzip decompression"));
  }
  SECTION("valid gzip of IDX data with trailing garbage") {
    write(p, gzip(good + std::string(7, 'x')));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p), Contains(p) && Contains("trailing data") && Contains("7 extra"));
  }
  SECTION("gzip bomb: tiny header, huge payload is counted, not stored") {
    // Header promises 1 image of 1×1 but the stream inflates to 8 MiB.
    write(p, gzip(images_bytes(1, 1, 1, {0}) + std::string(8u << 20, '\0')));
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                        Contains(p) && Contains("trailing data") && Contains("8388608 extra"));
  }
}

TEST_CASE("idx: trailing data after a gzip bomb is counted only up to a limit", "[idx]") {
  TempDir dir;
  const std::string p = dir.file("bomb.gz");
  const std::string zeros = gzip(std::string(8u << 20, '\0'));  // 8 MiB in a few KB
  std::string file = gzip(images_bytes(1, 1, 1, {7}));
  for (int i = 0; i < 10; ++i) file += zeros;  // 80 MiB after the promised byte
  write(p, file);
  REQUIRE_THROWS_WITH(sepnet::read_idx_images(p),
                      Contains(p) && Contains("trailing data") &&
                          Contains("at least 67108864 more bytes after gzip decompression"));
}

TEST_CASE("idx: a header promising more than the file holds fails 'truncated' without allocating it", "[idx]") {
  TempDir dir;
  const auto px = random_bytes(4096, 9);
  // 2^31-1 images of 1×1 (2 GiB of pixels, within the limits) or 65536 of 256×256 (the 4 GiB limit),
  // but a few KB of data: raw files are checked against their size, gzip output grows as it arrives.
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"raw", images_bytes(0x7fffffff, 1, 1, px), "header declares 2147483647 bytes of pixels"},
      {"gz", gzip(images_bytes(0x7fffffff, 1, 1, px)), "header declares 2147483647 bytes of pixels"},
      {"gz_4gib", gzip(images_bytes(65536, 256, 256, px)), "header declares 4294967296 bytes of pixels"},
  };
  for (const auto& [name, bytes, declared] : cases) {
    INFO(name);
    const std::string p = dir.file(name);
    write(p, bytes);
    const std::string holds = name == "raw" ? "file holds 4096" : "file holds 4096 after gzip decompression";
    const auto read = [&] { sepnet::read_idx_images(p); };
    std::string message;
    if (kAsan) {
      WARN("AddressSanitizer build: the memory cap is not applied, only the message is checked");
      try {
        read();
      } catch (const std::exception& e) {
        message = e.what();
      }
    } else {
      message = error_under_memory_cap(read, size_t{256} << 20);
    }
    CHECK_THAT(message, Contains(p + ": truncated: " + declared) && Contains(holds));
  }
  SECTION("labels too") {
    std::string labels;
    put_be32(labels, 2049);
    put_be32(labels, 0x7fffffff);
    labels.append(1000, '\1');
    const std::string p = dir.file("labels.gz");
    write(p, gzip(labels));
    const auto read = [&] { sepnet::read_idx_labels(p); };
    const std::string message = kAsan ? std::string("skipped") : error_under_memory_cap(read, size_t{256} << 20);
    if (!kAsan)
      CHECK_THAT(message, Contains(p + ": truncated: header declares 2147483647 bytes of labels") &&
                              Contains("file holds 1000 after gzip decompression"));
  }
}

TEST_CASE("idx: FIFOs, devices and directories are refused before reading", "[idx]") {
  TempDir dir;
  const std::string fifo = dir.file("train-images-idx3-ubyte");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // Opening a FIFO without O_NONBLOCK waits for a writer: fail by SIGALRM rather than hang the suite.
  ::alarm(30);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {fifo, "(a FIFO)"}, {"/dev/zero", "(a character device)"}, {dir.path.string(), "(a directory)"}};
  for (const auto& [path, kind] : cases) {
    INFO(path);
    REQUIRE_THROWS_WITH(sepnet::read_idx_images(path), Contains(path + ": not a regular file " + kind));
    REQUIRE_THROWS_WITH(sepnet::read_idx_labels(path), Contains(path + ": not a regular file " + kind));
  }
  ::alarm(0);
}

TEST_CASE("idx: load_mnist_split finds raw and .gz files and checks consistency", "[idx]") {
  TempDir dir;
  const auto px = random_bytes(6 * 4 * 4, 7);
  const auto lb = random_bytes(6, 8, 9);

  SECTION("missing files list what was looked for") {
    REQUIRE_THROWS_WITH(sepnet::load_mnist_split(dir.path.string(), true),
                        Contains("missing MNIST training images") && Contains("train-images-idx3-ubyte") &&
                            Contains("train-images-idx3-ubyte.gz"));
    REQUIRE_THROWS_WITH(sepnet::load_mnist_split((dir.path / "nodir").string(), false),
                        Contains("does not exist") && Contains("t10k-images-idx3-ubyte"));
  }
  SECTION("raw train split") {
    write(dir.file("train-images-idx3-ubyte"), images_bytes(6, 4, 4, px));
    write(dir.file("train-labels-idx1-ubyte"), labels_bytes(lb));
    const auto split = sepnet::load_mnist_split(dir.path.string(), true);
    CHECK(split.images.count == 6);
    CHECK(split.images.pixels == px);
    CHECK(split.labels.labels == lb);
    REQUIRE_THROWS_WITH(sepnet::load_mnist_split(dir.path.string(), false), Contains("missing MNIST test images"));
  }
  SECTION("gzip test split (Debian dataset-fashion-mnist layout)") {
    write(dir.file("t10k-images-idx3-ubyte.gz"), gzip(images_bytes(6, 4, 4, px)));
    write(dir.file("t10k-labels-idx1-ubyte.gz"), gzip(labels_bytes(lb)));
    const auto split = sepnet::load_mnist_split(dir.path.string(), false);
    CHECK(split.images.pixels == px);
    CHECK(split.labels.labels == lb);
  }
  SECTION("count mismatch") {
    write(dir.file("train-images-idx3-ubyte"), images_bytes(6, 4, 4, px));
    write(dir.file("train-labels-idx1-ubyte"), labels_bytes({1, 2, 3, 4, 5}));
    REQUIRE_THROWS_WITH(sepnet::load_mnist_split(dir.path.string(), true),
                        Contains("count mismatch: 6 images but 5 labels") && Contains("train-labels-idx1-ubyte"));
  }
  SECTION("label out of range") {
    auto bad = lb;
    bad[4] = 10;
    write(dir.file("train-images-idx3-ubyte"), images_bytes(6, 4, 4, px));
    write(dir.file("train-labels-idx1-ubyte"), labels_bytes(bad));
    REQUIRE_THROWS_WITH(sepnet::load_mnist_split(dir.path.string(), true),
                        Contains("train-labels-idx1-ubyte") && Contains("label 10 at index 4 is out of range 0..9"));
  }
}

TEST_CASE("idx: real MNIST / Fashion-MNIST files when present", "[idx][data]") {
  // Optional: exercised on machines that ran scripts/fetch-mnist.sh or have dataset-fashion-mnist.
  // __FILE__ is absolute under CMake, so the repo's data/ is found from any working directory.
  const std::string repo_data = (fs::path(__FILE__).parent_path().parent_path() / "data" / "mnist").string();
  int found = 0;
  for (const std::string& d : {repo_data, std::string("data/mnist"), std::string("/usr/share/datasets/fashion-mnist")}) {
    if (!fs::exists(fs::path(d) / "t10k-labels-idx1-ubyte") && !fs::exists(fs::path(d) / "t10k-labels-idx1-ubyte.gz")) {
      WARN("SKIPPED for " << d << ": no IDX test files there");
      continue;
    }
    ++found;
    INFO(d);
    const auto split = sepnet::load_mnist_split(d, false);
    CHECK(split.images.count == 10000);
    CHECK(split.images.rows == 28);
    CHECK(split.images.cols == 28);
    CHECK(split.labels.labels.size() == 10000);
  }
  if (found == 0) WARN("SKIPPED: no MNIST or Fashion-MNIST on this machine (scripts/fetch-mnist.sh)");
}
