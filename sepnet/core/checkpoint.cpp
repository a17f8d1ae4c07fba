#include "sepnet/core/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "sepnet/core/io/safetensors.h"

namespace sepnet {

namespace {
SafetensorsFile to_file(const nn::NamedTensors& tensors, const Metadata& metadata) {
  SafetensorsFile f;
  f.metadata = metadata;
  for (const auto& [name, t] : tensors) f.tensors[name] = NamedArray{t.shape(), t.to_vector()};
  return f;
}

// Checks names and shapes of the file against `expected`, then copies the data in.
void copy_into(const std::string& path, const SafetensorsFile& f, const nn::NamedTensors& expected, const std::string& what) {
  std::string problems;
  for (const auto& [name, t] : expected) {
    auto it = f.tensors.find(name);
    if (it == f.tensors.end())
      problems += "\n  missing tensor '" + name + "' " + shape_to_string(t.shape());
    else if (it->second.shape != t.shape())
      problems += "\n  tensor '" + name + "' has shape " + shape_to_string(it->second.shape) + ", " + what +
                  " needs " + shape_to_string(t.shape());
  }
  for (const auto& [name, array] : f.tensors) {
    bool known = false;
    for (const auto& [n, t] : expected) known = known || n == name;
    if (!known) problems += "\n  unexpected tensor '" + name + "'";
  }
  if (!problems.empty()) throw std::runtime_error(path + ": does not match the " + what + ":" + problems);
  for (const auto& [name, t] : expected) {
    const auto& data = f.tensors.at(name).data;
    const auto bad = std::find_if(data.begin(), data.end(), [](float v) { return !std::isfinite(v); });
    if (bad != data.end())
      throw std::runtime_error(path + ": tensor '" + name + "' holds a non-finite value (" + std::to_string(*bad) +
                               " at element " + std::to_string(bad - data.begin()) + "); the " + what +
                               " it was saved from had diverged");
  }
  for (const auto& [name, t] : expected) {
    const auto& data = f.tensors.at(name).data;
    std::memcpy(const_cast<Tensor&>(t).data(), data.data(), data.size() * sizeof(float));
  }
}
}  // namespace

void save_model(const std::string& path, const nn::Module& model, const Metadata& metadata) {
  save_safetensors(path, to_file(model.state_dict(), metadata));
}

Metadata load_model(const std::string& path, nn::Module& model) {
  SafetensorsFile f = load_safetensors(path);
  copy_into(path, f, model.state_dict(), "model");
  return f.metadata;
}

Metadata read_metadata(const std::string& path) { return load_safetensors(path).metadata; }

void save_optimizer(const std::string& path, const optim::Optimizer& optimizer, const Metadata& metadata) {
  Metadata m = metadata;
  m["optimizer"] = optimizer.name();
  m["optimizer_steps"] = std::to_string(optimizer.step_count());
  save_safetensors(path, to_file(optimizer.state(), m));
}

Metadata load_optimizer(const std::string& path, optim::Optimizer& optimizer) {
  SafetensorsFile f = load_safetensors(path);
  auto it = f.metadata.find("optimizer");
  if (it == f.metadata.end() || it->second != optimizer.name())
    throw std::runtime_error(path + ": optimizer state is for '" + (it == f.metadata.end() ? "?" : it->second) +
                             "', training uses '" + optimizer.name() + "'");
  copy_into(path, f, optimizer.state(), "optimizer");
  // Bounded so that bias corrections like Adam's 1 - beta^step stay meaningful.
  optimizer.set_step_count(metadata_int(path, f.metadata, "optimizer_steps", 0, int64_t{1} << 40));
  return f.metadata;
}

int64_t metadata_int(const std::string& path, const Metadata& metadata, const std::string& key, int64_t lo, int64_t hi) {
  const auto it = metadata.find(key);
  if (it == metadata.end()) throw std::runtime_error(path + ": metadata key '" + key + "' is missing");
  const std::string& text = it->second;
  int64_t value = 0;
  const char* first = text.data();
  const char* last = first + text.size();
  const auto [end, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec != std::errc() || end != last)
    throw std::runtime_error(path + ": metadata '" + key + "' is \"" + text + "\", not an integer");
  if (value < lo || value > hi)
    throw std::runtime_error(path + ": metadata '" + key + "' is " + text + ", outside [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]");
  return value;
}

}  // namespace sepnet
