// safetensors save/load (round trip, on-disk layout, every corruption rejected clearly) and the
// atomic file writer underneath it.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sepnet/core/io/atomic_file.h"
#include "sepnet/core/io/safetensors.h"

#include "temp_dir.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

using sepnet::testing::TempDir;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

// A hand-made file: length field, header text exactly as given (no padding), then data.
std::string raw_file(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

std::string float_bytes(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}

sepnet::NamedArray random_array(std::vector<int64_t> shape, uint32_t seed) {
  sepnet::NamedArray a;
  a.shape = std::move(shape);
  size_t n = 1;
  for (auto d : a.shape) n *= static_cast<size_t>(d);
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 3.f);
  a.data.resize(n);
  for (auto& v : a.data) v = dist(rng);
  return a;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

TEST_CASE("safetensors: round trip is bit-exact and keeps metadata", "[safetensors]") {
  TempDir dir;
  sepnet::SafetensorsFile f;
  f.metadata = {{"format", "pt"}, {"optimizer.step", "12345"}, {"note", "ünïcode ✓ and \"quotes\"\n"}, {"empty", ""}};
  f.tensors["conv1.weight"] = random_array({8, 1, 3, 3}, 1);
  f.tensors["conv1.bias"] = random_array({8}, 2);
  f.tensors["fc.weight"] = random_array({10, 37}, 3);  // odd size: the data length is not a multiple of 8 bytes
  f.tensors["bn.num_batches"] = random_array({}, 4);   // scalar
  f.tensors["empty"] = random_array({0, 5}, 5);
  auto& special = f.tensors["special"];
  special.shape = {7};
  special.data = {0.f, -0.f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min(),
                  std::numeric_limits<float>::max()};

  const std::string p = dir.file("model.safetensors");
  sepnet::save_safetensors(p, f);
  const auto g = sepnet::load_safetensors(p);
  CHECK(g.metadata == f.metadata);
  REQUIRE(g.tensors.size() == f.tensors.size());
  for (const auto& [name, a] : f.tensors) {
    INFO(name);
    REQUIRE(g.tensors.count(name) == 1);
    CHECK(g.tensors.at(name).shape == a.shape);
    CHECK(bitwise_equal(g.tensors.at(name).data, a.data));
  }
  CHECK(dir.entry_count() == 1);  // no temporary files left behind

  SECTION("saving again overwrites; an empty file round trips too") {
    sepnet::save_safetensors(p, {});
    const auto e = sepnet::load_safetensors(p);
    CHECK(e.metadata.empty());
    CHECK(e.tensors.empty());
  }
}

TEST_CASE("safetensors: on-disk layout follows the format", "[safetensors]") {
  TempDir dir;
  sepnet::SafetensorsFile f;
  f.metadata["epoch"] = "3";
  f.tensors["b"] = random_array({3}, 6);
  f.tensors["a"] = random_array({2, 5}, 7);
  f.tensors["c"] = random_array({1, 1, 1}, 8);
  const std::string p = dir.file("x.safetensors");
  sepnet::save_safetensors(p, f);
  const std::string bytes = slurp(p);

  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  CHECK(n % 8 == 0);  // data buffer starts 8-byte aligned
  REQUIRE(8 + n <= bytes.size());
  const std::string header = bytes.substr(8, n);
  CHECK(header.front() == '{');
  const auto last = header.find_last_not_of(' ');
  CHECK(header[last] == '}');
  CHECK(n - (last + 1) < 8);  // only the minimal space padding
  const auto j = nlohmann::json::parse(header);
  CHECK(j["__metadata__"] == nlohmann::json{{"epoch", "3"}});
  // Name order, contiguous from 0.
  CHECK(j["a"]["dtype"] == "F32");
  CHECK(j["a"]["shape"] == nlohmann::json{2, 5});
  CHECK(j["a"]["data_offsets"] == nlohmann::json{0, 40});
  CHECK(j["b"]["data_offsets"] == nlohmann::json{40, 52});
  CHECK(j["c"]["data_offsets"] == nlohmann::json{52, 56});
  CHECK(bytes.size() == 8 + n + 56);
  // Little-endian raw floats at the stated offsets.
  float v = 0;
  std::memcpy(&v, bytes.data() + 8 + n + 40, 4);
  CHECK(v == f.tensors["b"].data[0]);
}

TEST_CASE("safetensors: files from other writers (unpadded header, any key order) load", "[safetensors]") {
  TempDir dir;
  const std::string p = dir.file("other.safetensors");
  write(p, raw_file(R"({"w":{"shape":[2],"data_offsets":[4,12],"dtype":"F32"},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
                    float_bytes({9.f, 1.5f, -2.f})));
  const auto f = sepnet::load_safetensors(p);
  CHECK(f.metadata.empty());
  CHECK(f.tensors.at("s").shape.empty());
  CHECK(f.tensors.at("s").data == std::vector<float>{9.f});
  CHECK(f.tensors.at("w").shape == std::vector<int64_t>{2});
  CHECK(f.tensors.at("w").data == std::vector<float>{1.5f, -2.f});
}

TEST_CASE("safetensors: corrupt files are rejected with path and problem", "[safetensors]") {
  TempDir dir;
  const std::string p = dir.file("bad.safetensors");
  const std::string good_header = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  const std::string good_data = float_bytes({1.f, 2.f});
  auto rejects = [&](const std::string& bytes, const std::string& problem) {
    write(p, bytes);
    INFO(problem);
    REQUIRE_THROWS_WITH(sepnet::load_safetensors(p), Contains(p) && Contains(problem));
  };
  write(p, raw_file(good_header, good_data));
  REQUIRE_NOTHROW(sepnet::load_safetensors(p));

  SECTION("missing file") {
    REQUIRE_THROWS_WITH(sepnet::load_safetensors(dir.file("nope")), Contains(dir.file("nope")) && Contains("cannot open"));
  }
  SECTION("shorter than the length field") {
    rejects("", "truncated: file is 0 bytes");
    rejects("abc", "shorter than the 8-byte header length field");
  }
  SECTION("bad header length") {
    rejects(le64(1ull << 40) + good_header, "absurdly large");
    rejects(le64(good_header.size() + 100) + good_header + good_data, "exceeds the");
    rejects(le64(0) + good_data, "bad header length 0");
  }
  SECTION("truncated inside the data") {
    const std::string full = raw_file(good_header, good_data);
    rejects(full.substr(0, full.size() - 3), "out of range");
    rejects(full.substr(0, 8 + good_header.size() - 5), "exceeds the");
  }
  SECTION("bad JSON") {
    rejects(raw_file(R"({"w":{"dtype":"F32",)", ""), "not valid JSON");
    rejects(raw_file(std::string("{\"w\":1}\0\0", 9), ""), "not valid JSON");
    rejects(raw_file(R"([1,2])", ""), "must be an object, got array");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", good_data),
            "duplicate key 'w'");
  }
  SECTION("unsupported dtype") {
    rejects(raw_file(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", good_data),
            "tensor 'w': unsupported dtype \"BF16\" (only F32 is supported)");
    rejects(raw_file(R"({"w":{"dtype":7,"shape":[2],"data_offsets":[0,8]}})", good_data), "\"dtype\" must be a string");
  }
  SECTION("missing or invalid fields") {
    rejects(raw_file(R"({"w":{"shape":[2],"data_offsets":[0,8]}})", good_data), "tensor 'w': missing field \"dtype\"");
    rejects(raw_file(R"({"w":{"dtype":"F32","data_offsets":[0,8]}})", good_data), "missing field \"shape\"");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2]}})", good_data), "missing field \"data_offsets\"");
    rejects(raw_file(R"({"w":[1]})", good_data), "entry must be a JSON object");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", good_data), "non-negative integers");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}})", good_data),
            "non-negative integers");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", good_data),
            "\"data_offsets\" must be [begin, end]");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", good_data), "end < begin");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", good_data),
            "absurdly large");
    rejects(raw_file(R"({"__metadata__":{"k":1},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", good_data),
            "\"__metadata__\" value for key 'k' must be a string");
    rejects(raw_file(R"({"__metadata__":"x","w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", good_data),
            "\"__metadata__\" must be an object");
  }
  SECTION("shape does not match byte size") {
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", good_data),
            "tensor 'w': shape [3] has 3 elements = 12 bytes of F32, but data_offsets [0,8] span 8 bytes");
  }
  SECTION("offsets out of range") {
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", good_data), "out of range");
  }
  SECTION("numbers out of range are JSON errors, not escaping exceptions") {
    // The 24-byte file: length 16, then {"a":[1e999]} padded with spaces. Its first problem is the
    // entry's type; with the number where it is read, the number is.
    const std::string file = le64(16) + R"({"a":[1e999]})" + "   ";
    REQUIRE(file.size() == 24);
    write(p, file);
    REQUIRE_THROWS_AS(sepnet::load_safetensors(p), std::runtime_error);
    rejects(file, "tensor 'a': entry must be a JSON object, got array");
    rejects(le64(16) + R"({"a":1e999}     )", "header is not valid JSON");
    rejects(le64(16) + R"({"a":1e999}     )", "number overflow parsing '1e999'");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[1e999],"data_offsets":[0,8]}})", good_data),
            "number overflow parsing '1e999'");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[-1e999],"data_offsets":[0,8]}})", good_data), "not valid JSON");
    rejects(raw_file(R"({"__metadata__":{"k":1e400}})", ""), "not valid JSON");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,8]}})", good_data),
            "\"shape\" must hold non-negative integers, got 18446744073709551616");
  }
  SECTION("more malformed headers") {
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x)", good_data), "not valid JSON");
    rejects(raw_file("\"text\"", ""), "header JSON must be an object, got string \"text\"");
    rejects(raw_file("\xff\xfe", ""), "not valid JSON");
    rejects(raw_file(R"({"w":{"dtype":"F\u0033\u0032","shape":[2],"data_offsets":[0,8]},"w\u0031":1})", good_data),
            "tensor 'w1': entry must be a JSON object, got 1");
    rejects(raw_file(std::string(1000000, '[') + std::string(1000000, ']'), ""), "must be an object, got array");
    rejects(raw_file(R"({"__metadata__":{},"__metadata__":{}})", ""), "duplicate key '__metadata__'");
    rejects(raw_file(R"({"__metadata__":{"k":"a","k":"b"}})", ""), "duplicate key 'k' in \"__metadata__\"");
    rejects(raw_file(R"({"w":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}})", good_data),
            "tensor 'w': duplicate key \"dtype\"");
    rejects(raw_file(R"({"__metadata__":{"k":["v"]}})", ""),
            "\"__metadata__\" value for key 'k' must be a string, got array");
    rejects(raw_file(R"({"__metadata__":{"k":null}})", ""), "must be a string, got null");
  }
  SECTION("dtype known, shape entries non-negative integers, offsets a pair") {
    rejects(raw_file(R"({"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", good_data),
            "tensor 'w': unknown dtype \"F33\"");
    rejects(raw_file(R"({"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", good_data),
            "unsupported dtype \"F64\"");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[[2]],"data_offsets":[0,8]}})", good_data),
            "tensor 'w': \"shape\" must hold non-negative integers, got array");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}})", good_data), "got string \"2\"");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":{"0":2},"data_offsets":[0,8]}})", good_data),
            "\"shape\" must be an array, got object");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}})", good_data),
            "got more than two values");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[-1,8]}})", good_data),
            "non-negative integers, got -1");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}})", good_data), "got 8.0");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":"0-8"}})", good_data), "got string \"0-8\"");
    rejects(raw_file(R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}})", good_data),
            "is absurdly large");
  }
  SECTION("messages quote at most a little of a huge name") {
    const std::string name(1 << 20, 'n');
    write(p, raw_file("{\"" + name + "\":7}", ""));
    try {
      sepnet::load_safetensors(p);
      FAIL("no error");
    } catch (const std::runtime_error& e) {
      CHECK_THAT(e.what(), Contains(p) && Contains("entry must be a JSON object") && Contains("(1048576 bytes)"));
      CHECK(std::strlen(e.what()) < 1000);
    }
  }
  SECTION("overlapping, non-contiguous, trailing") {
    const std::string three = float_bytes({1.f, 2.f, 3.f});
    rejects(raw_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", three),
            "overlapping data: tensor 'b' starts at byte 4 inside tensor 'a'");
    rejects(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", three),
            "non-contiguous data: 4 unused bytes before tensor 'b'");
    rejects(raw_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", good_data), "non-contiguous data");
    rejects(raw_file(good_header, good_data + "xy"),
            "trailing bytes: tensors cover 8 bytes but the data buffer has 10 (2 unused)");
  }
}

TEST_CASE("safetensors: other writers' unknown fields are ignored, even nested ones", "[safetensors]") {
  TempDir dir;
  const std::string p = dir.file("extra.safetensors");
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  write(p, raw_file(R"({"w":{"note":{"a":[1,{"b":null}]},"dtype":"F32","shape":[2],"x":)" + deep +
                        R"(,"data_offsets":[0,8],"y":"z"}})",
                    float_bytes({1.f, 2.f})));
  const auto f = sepnet::load_safetensors(p);
  CHECK(f.tensors.at("w").data == std::vector<float>{1.f, 2.f});
}

TEST_CASE("safetensors: in-memory parse and serialize match the file functions", "[safetensors]") {
  TempDir dir;
  sepnet::SafetensorsFile f;
  f.metadata["model"] = "cnn";
  f.tensors["a"] = random_array({3, 2}, 11);
  f.tensors["b"] = random_array({}, 12);
  const std::string p = dir.file("mem.safetensors");
  sepnet::save_safetensors(p, f);
  const std::string bytes = sepnet::serialize_safetensors(f, "in memory");
  CHECK(bytes == slurp(p));
  const auto g = sepnet::parse_safetensors(bytes, "in memory");
  CHECK(g.metadata == f.metadata);
  CHECK(bitwise_equal(g.tensors.at("a").data, f.tensors.at("a").data));
  REQUIRE_THROWS_WITH(sepnet::parse_safetensors(bytes.substr(0, bytes.size() - 1), "in memory"),
                      Catch::Matchers::StartsWith("in memory: ") && Contains("out of range"));
}

TEST_CASE("safetensors and read_file_bytes refuse FIFOs, devices, directories and sockets before reading",
          "[safetensors][atomic_file]") {
  TempDir dir;
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  const std::string socket_path = dir.file("sock");
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(sock >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof addr.sun_path);
  std::strcpy(addr.sun_path, socket_path.c_str());
  REQUIRE(::bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);

  // Opening a FIFO without O_NONBLOCK waits for a writer: fail by SIGALRM rather than hang the suite.
  ::alarm(30);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {fifo, "(a FIFO)"}, {"/dev/zero", "(a character device)"}, {dir.path.string(), "(a directory)"},
      {socket_path, "(a socket)"}};
  for (const auto& [path, kind] : cases) {
    INFO(path);
    REQUIRE_THROWS_WITH(sepnet::read_file_bytes(path), Contains(path + ": not a regular file " + kind));
    REQUIRE_THROWS_WITH(sepnet::load_safetensors(path), Contains(path + ": not a regular file " + kind));
  }
  ::alarm(0);
  ::close(sock);
}

TEST_CASE("read_file_bytes: a size cap is checked before reading", "[atomic_file]") {
  TempDir dir;
  const std::string p = dir.file("big");
  write(p, std::string(1000, 'x'));
  CHECK(sepnet::read_file_bytes(p, 1000).size() == 1000);
  REQUIRE_THROWS_WITH(sepnet::read_file_bytes(p, 999),
                      Contains(p + ": file is 1000 bytes, more than the limit of 999 bytes"));
}

TEST_CASE("safetensors: invalid input to save throws and keeps the old file", "[safetensors]") {
  TempDir dir;
  const std::string p = dir.file("keep.safetensors");
  sepnet::SafetensorsFile good;
  good.tensors["w"] = random_array({4}, 9);
  sepnet::save_safetensors(p, good);
  const std::string before = slurp(p);

  sepnet::SafetensorsFile bad;
  bad.tensors["w"] = random_array({4}, 9);
  bad.tensors["w"].shape = {5};
  REQUIRE_THROWS_WITH(sepnet::save_safetensors(p, bad), Contains(p) && Contains("shape [5] has 5 elements but the data has 4"));
  bad.tensors["w"].shape = {-4};
  REQUIRE_THROWS_WITH(sepnet::save_safetensors(p, bad), Contains(p) && Contains("negative dimension"));
  sepnet::SafetensorsFile reserved;
  reserved.tensors["__metadata__"] = random_array({1}, 1);
  REQUIRE_THROWS_WITH(sepnet::save_safetensors(p, reserved), Contains(p) && Contains("reserved"));
  sepnet::SafetensorsFile bad_utf8;
  bad_utf8.metadata["k"] = std::string("\xff\xfe", 2);
  REQUIRE_THROWS_WITH(sepnet::save_safetensors(p, bad_utf8), Contains(p) && Contains("UTF-8"));

  CHECK(slurp(p) == before);
  CHECK(dir.entry_count() == 1);
}

TEST_CASE("atomic_file: writes, replaces, and cleans up on failure", "[atomic_file]") {
  TempDir dir;
  const std::string p = dir.file("a.bin");
  sepnet::write_file_atomically(p, "first");
  CHECK(slurp(p) == "first");
  sepnet::write_file_atomically(p, std::string("sec\0ond", 7));
  CHECK(slurp(p) == std::string("sec\0ond", 7));
  CHECK(sepnet::read_file_bytes(p) == std::string("sec\0ond", 7));
  sepnet::write_file_atomically(p, "");
  CHECK(slurp(p).empty());
  CHECK(dir.entry_count() == 1);

  SECTION("directory does not exist") {
    const std::string q = dir.file("no/such/dir/x.bin");
    REQUIRE_THROWS_WITH(sepnet::write_file_atomically(q, "x"), Contains(q) && Contains("temporary file"));
  }
  SECTION("rename onto a directory fails, temp removed, directory untouched") {
    const std::string d = dir.file("subdir");
    fs::create_directory(d);
    write(d + "/inside", "keep");
    REQUIRE_THROWS_WITH(sepnet::write_file_atomically(d, "x"), Contains(d) && Contains("rename"));
    CHECK(slurp(d + "/inside") == "keep");
    CHECK(dir.entry_count() == 2);  // a.bin and subdir, no leftover temp
  }
  SECTION("read_file_bytes errors name the path") {
    REQUIRE_THROWS_WITH(sepnet::read_file_bytes(dir.file("missing")), Contains(dir.file("missing")) && Contains("No such file"));
    REQUIRE_THROWS_WITH(sepnet::read_file_bytes(dir.path.string()), Contains(dir.path.string()) && Contains("directory"));
  }
}
