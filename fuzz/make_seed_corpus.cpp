// Writes the seed corpora in fuzz/corpus/ (target sepnet_fuzz_seed_corpus; docs/fuzzing.md):
// small valid files of each kind plus a few malformed ones. Deterministic, so rerunning it after
// a format change shows the difference in git.
// Usage: sepnet_fuzz_seed_corpus CORPUS_DIR
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <zlib.h>

#include "sepnet/core/checkpoint.h"
#include "sepnet/core/io/safetensors.h"
#include "sepnet/core/random.h"
#include "sepnet/models/registry.h"

namespace fs = std::filesystem;

namespace {

void put(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

std::string le64(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

std::string raw_safetensors(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string s;
  for (float v : values) s.append(reinterpret_cast<const char*>(&v), sizeof v);
  return s;
}

void be32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>(v >> shift));
}

std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols, size_t pixels) {
  std::string s;
  be32(s, 2051);
  be32(s, n);
  be32(s, rows);
  be32(s, cols);
  for (size_t i = 0; i < pixels; ++i) s.push_back(static_cast<char>(i * 37 % 256));
  return s;
}

std::string idx_labels(uint32_t n, size_t present) {
  std::string s;
  be32(s, 2049);
  be32(s, n);
  for (size_t i = 0; i < present; ++i) s.push_back(static_cast<char>(i % 10));
  return s;
}

std::string gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

void safetensors_seeds(const fs::path& dir) {
  sepnet::SafetensorsFile f;
  f.metadata = {{"format", "pt"}, {"note", "seed"}};
  f.tensors["conv.weight"] = {{2, 1, 2, 2}, {1, -2, 3, -4, 5, -6, 7, -8}};
  f.tensors["conv.bias"] = {{2}, {0.5f, -0.5f}};
  f.tensors["scalar"] = {{}, {3.f}};
  f.tensors["empty"] = {{0, 4}, {}};
  put(dir / "valid_small.safetensors", sepnet::serialize_safetensors(f, "seed"));
  put(dir / "valid_empty.safetensors", sepnet::serialize_safetensors({}, "seed"));
  // Another writer's layout: unpadded, keys out of order, an extra field.
  put(dir / "valid_other_writer.safetensors",
      raw_safetensors(R"({"w":{"shape":[2],"data_offsets":[4,12],"dtype":"F32","x":[1,{}]},)"
                      R"("s":{"dtype":"F32","shape":[],"data_offsets":[0,4]}})",
                      floats({9.f, 1.5f, -2.f})));
  const std::string w = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  put(dir / "bad_overlap.safetensors",
      raw_safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                      floats({1, 2, 3})));
  put(dir / "bad_dtype.safetensors",
      raw_safetensors(R"({"w":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}})", floats({1, 2})));
  put(dir / "bad_number.safetensors", le64(16) + R"({"a":[1e999]})" + "   ");
  put(dir / "bad_trailing.safetensors", raw_safetensors(w, floats({1, 2}) + "xy"));
  put(dir / "bad_truncated.safetensors", raw_safetensors(w, floats({1})));
  put(dir / "bad_metadata.safetensors", raw_safetensors(R"({"__metadata__":{"k":1}})", ""));
}

// The keys sepnet's trainer writes (train/experiment.cpp, checkpoint_metadata).
sepnet::Metadata checkpoint_metadata(const sepnet::models::ModelSpec& resolved) {
  sepnet::Metadata m = sepnet::models::spec_metadata(resolved);
  m.insert({{"format", "sepnet-checkpoint-1"}, {"input_mean", "0.1307"}, {"input_std", "0.3081"},
            {"recipe", "paper"}, {"optimizer", "sgd"}, {"lr", "0.01"}, {"loss", "cross_entropy"},
            {"batch", "64"}, {"seed", "1"}, {"epoch", "1"}});
  return m;
}

void checkpoint_seeds(const fs::path& dir) {
  namespace models = sepnet::models;
  // The smallest MobileNet: every layer at the 8-channel floor, 16-pixel single-channel images, 2 classes.
  models::ModelSpec spec;
  spec.name = "mobilenet";
  spec.width = 0.03125f;
  spec.image_size = 16;
  spec.in_channels = 1;
  spec.num_classes = 2;
  const models::ModelSpec resolved = models::resolve_spec(spec);
  sepnet::Rng rng(0);
  const auto model = models::build_model(resolved, rng);
  const fs::path valid = dir / "valid_mobilenet_tiny.safetensors";
  fs::create_directories(dir);
  sepnet::save_model(valid.string(), *model, checkpoint_metadata(resolved));

  // The same weights under metadata for 3 classes: the classifier no longer matches.
  sepnet::Metadata three = checkpoint_metadata(resolved);
  three["num_classes"] = "3";
  sepnet::save_model((dir / "bad_mobilenet_classes.safetensors").string(), *model, three);

  // Metadata only: seed models and the first checkpoint format (model and batch_norm alone).
  sepnet::SafetensorsFile meta_only;
  meta_only.metadata = {{"model", "dwsep"}, {"batch_norm", "true"}};
  put(dir / "meta_dwsep_first_format.safetensors", sepnet::serialize_safetensors(meta_only, "seed"));
  models::ModelSpec cnn;
  cnn.name = "cnn";
  meta_only.metadata = checkpoint_metadata(models::resolve_spec(cnn));
  put(dir / "meta_cnn.safetensors", sepnet::serialize_safetensors(meta_only, "seed"));
  meta_only.metadata = {{"model", "mobilenet"}, {"batch_norm", "true"}, {"width", "0.25"}, {"image_size", "16"},
                        {"in_channels", "1"}, {"num_classes", "2"}};
  put(dir / "meta_mobilenet.safetensors", sepnet::serialize_safetensors(meta_only, "seed"));
  meta_only.metadata = {{"model", "mobilenet"}, {"batch_norm", "false"}, {"width", "2"}};
  put(dir / "meta_bad_values.safetensors", sepnet::serialize_safetensors(meta_only, "seed"));
}

// fuzz_idx inputs: a selector byte (bit 0 labels, bit 1 gzip by the harness) and the file.
void idx_seeds(const fs::path& dir) {
  const std::string images = idx_images(3, 4, 4, 48), labels = idx_labels(3, 3);
  put(dir / "images_raw", std::string(1, '\0') + images);
  put(dir / "labels_raw", std::string(1, '\1') + labels);
  put(dir / "images_gzip_by_harness", std::string(1, '\2') + images);
  put(dir / "labels_gzip_by_harness", std::string(1, '\3') + labels);
  put(dir / "images_gz", std::string(1, '\0') + gzip(images));
  put(dir / "labels_gz", std::string(1, '\1') + gzip(labels));
  put(dir / "images_gz_two_members", std::string(1, '\0') + gzip(images.substr(0, 20)) + gzip(images.substr(20)));
  put(dir / "bad_images_truncated", std::string(1, '\0') + idx_images(3, 4, 4, 40));
  put(dir / "bad_images_trailing", std::string(1, '\2') + idx_images(1, 2, 2, 7));
  put(dir / "bad_images_huge_count_gz", std::string(1, '\0') + gzip(idx_images(0x7fffffff, 1, 1, 64)));
  put(dir / "bad_labels_as_images", std::string(1, '\0') + labels);
  put(dir / "bad_gz_junk_after", std::string(1, '\1') + gzip(labels) + "junk");
  std::string cut = gzip(images);
  put(dir / "bad_gz_cut", std::string(1, '\0') + cut.substr(0, cut.size() / 2));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR   (writes CORPUS_DIR/{safetensors,checkpoint_metadata,idx})\n", argv[0]);
    return 2;
  }
  const fs::path out = argv[1];
  safetensors_seeds(out / "safetensors");
  checkpoint_seeds(out / "checkpoint_metadata");
  idx_seeds(out / "idx");
  return 0;
}
