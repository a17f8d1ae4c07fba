#include "sepnet/models/registry.h"

#include <charconv>
#include <cmath>
#include <deque>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "sepnet/core/storage.h"
#include "sepnet/models/mobilenet_v1.h"
#include "sepnet/models/seed_models.h"

namespace sepnet::models {

namespace {

struct Registry {
  std::mutex mutex;
  std::deque<ModelEntry> entries;  // a deque keeps references stable as users add models
};

// Built-in models are added on first use rather than by static initializers, which a static
// library would drop when nothing else in their object file is referenced.
Registry& registry() {
  static Registry r;
  static std::once_flag builtins;
  std::call_once(builtins, [] {
    for (ModelEntry& e : seed_model_entries()) r.entries.push_back(std::move(e));
    r.entries.push_back(mobilenet_v1_entry());
  });
  return r;
}

[[noreturn]] void bad_key(const std::string& path, const std::string& key, const std::string& value,
                          const std::string& expected) {
  throw std::runtime_error(fmt::format("{}: checkpoint metadata '{}' = '{}' is not {}", path, key, value, expected));
}

int int_key(const std::string& path, const Metadata& m, const std::string& key, int lo, int hi) {
  const auto it = m.find(key);
  if (it == m.end()) return 0;
  int v = 0;
  const std::string& s = it->second;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < lo || v > hi)
    bad_key(path, key, s, fmt::format("an integer in [{}, {}]", lo, hi));
  return v;
}

float float_key(const std::string& path, const Metadata& m, const std::string& key, float fallback) {
  const auto it = m.find(key);
  if (it == m.end()) return fallback;
  const std::string& s = it->second;
  float v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || v <= 0.0f || v > 16.0f)
    bad_key(path, key, s, "a number in (0, 16]");
  return v;
}

}  // namespace

void register_model(ModelEntry entry) {
  if (entry.name.empty() || !entry.resolve || !entry.build)
    throw std::invalid_argument("register_model: an entry needs a name, a resolve and a build function");
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const ModelEntry& e : r.entries)
    if (e.name == entry.name) throw std::invalid_argument("register_model: model '" + entry.name + "' is already registered");
  r.entries.push_back(std::move(entry));
}

bool has_model(const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  for (const ModelEntry& e : r.entries)
    if (e.name == name) return true;
  return false;
}

const ModelEntry& find_model(const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::string known;
  for (const ModelEntry& e : r.entries) {
    if (e.name == name) return e;  // entries are never removed, so the reference stays valid
    known += (known.empty() ? "" : ", ") + e.name;
  }
  throw std::invalid_argument("unknown model '" + name + "' (registered: " + known + ")");
}

std::vector<std::string> model_names() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  std::vector<std::string> names;
  for (const ModelEntry& e : r.entries) names.push_back(e.name);
  return names;
}

ModelSpec resolve_spec(const ModelSpec& spec) {
  if (!(spec.width > 0.0f) || !(spec.resolution > 0.0f) || spec.image_size < 0 || spec.in_channels < 0 ||
      spec.num_classes < 0)
    throw std::invalid_argument(fmt::format("model '{}': width, resolution, image size, channels and classes must be "
                                            "positive (got {}, {}, {}, {}, {})",
                                            spec.name, spec.width, spec.resolution, spec.image_size,
                                            spec.in_channels, spec.num_classes));
  const ModelEntry& entry = find_model(spec.name);
  if (spec.conv != "separable" && spec.conv != "full")
    throw std::invalid_argument("model '" + spec.name + "': conv must be 'separable' or 'full', not '" + spec.conv + "'");
  if (spec.conv == "full" && !entry.has_full_conv_variant)
    throw std::invalid_argument("model '" + spec.name +
                                "' has no full-convolution variant (--conv full is for mobilenet); drop --conv");
  ModelSpec r = entry.resolve(spec);
  r.name = spec.name;
  r.conv = spec.conv;
  return r;
}

std::unique_ptr<nn::Module> build_model(const ModelSpec& spec, Rng& rng) {
  const ModelSpec resolved = resolve_spec(spec);
  return find_model(resolved.name).build(resolved, rng);
}

std::unique_ptr<nn::Module> build_model_for_checkpoint(const ModelSpec& spec, Rng& rng, const std::string& path) {
  std::error_code ec;
  const auto file_bytes = std::filesystem::file_size(path, ec);
  if (ec) throw std::runtime_error(path + ": cannot read its size: " + ec.message());
  // Twice the file plus 1 MiB leaves room for per-tensor rounding and layout copies made while
  // building; a network that needs more cannot be the one the file holds.
  const int64_t budget = 2 * static_cast<int64_t>(file_bytes) + (int64_t{1} << 20);
  try {
    AllocationLimit limit(budget);
    return build_model(spec, rng);
  } catch (const std::length_error&) {
    throw std::runtime_error(path + ": its metadata describes a network ('" + spec_label(resolve_spec(spec)) +
                             "') needing more than " + std::to_string(budget) + " bytes, far more than the " +
                             std::to_string(file_bytes) + "-byte file can hold");
  }
}

Shape input_shape(const ModelSpec& s, int64_t batch) { return {batch, s.in_channels, s.image_size, s.image_size}; }

std::string spec_label(const ModelSpec& s) {
  std::string label = s.name + (s.batch_norm ? "+BN" : " (no BN)");
  if (s.width != 1.0f) label += fmt::format(" α={}", s.width);
  if (s.conv == "full") label += " full-conv";
  return label + fmt::format(" {}×{}×{} → {}", s.in_channels, s.image_size, s.image_size, s.num_classes);
}

Metadata spec_metadata(const ModelSpec& s) {
  return {{"model", s.name},
          {"batch_norm", s.batch_norm ? "true" : "false"},
          {"width", fmt::format("{}", s.width)},
          {"resolution", fmt::format("{}", s.resolution)},
          {"image_size", std::to_string(s.image_size)},
          {"in_channels", std::to_string(s.in_channels)},
          {"num_classes", std::to_string(s.num_classes)},
          {"conv", s.conv}};
}

ModelSpec spec_from_metadata(const std::string& path, const Metadata& m) {
  const auto name = m.find("model");
  if (name == m.end()) throw std::runtime_error(path + ": checkpoint metadata has no 'model' key");
  if (!has_model(name->second))
    throw std::runtime_error(path + ": checkpoint is for model '" + name->second +
                             "', which is not registered in this program");
  ModelSpec s;
  s.name = name->second;
  const auto bn = m.find("batch_norm");
  if (bn == m.end()) throw std::runtime_error(path + ": checkpoint metadata has no 'batch_norm' key");
  if (bn->second != "true" && bn->second != "false") bad_key(path, "batch_norm", bn->second, "true or false");
  s.batch_norm = bn->second == "true";
  s.width = float_key(path, m, "width", 1.0f);
  s.resolution = float_key(path, m, "resolution", 1.0f);
  s.image_size = int_key(path, m, "image_size", 1, 1 << 14);
  s.in_channels = int_key(path, m, "in_channels", 1, 1 << 12);
  s.num_classes = int_key(path, m, "num_classes", 1, 1 << 20);
  // Checkpoints written before full-conv variants existed hold the separable network.
  if (const auto conv = m.find("conv"); conv != m.end()) {
    if (conv->second != "separable" && conv->second != "full") bad_key(path, "conv", conv->second, "separable or full");
    s.conv = conv->second;
  }
  try {
    return resolve_spec(s);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace sepnet::models
