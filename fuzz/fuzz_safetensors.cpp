// libFuzzer harness for the safetensors reader: any bytes either parse or throw std::runtime_error
// naming the file, and whatever parses survives serialize -> parse bit for bit.
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "sepnet/core/io/safetensors.h"

namespace {

const std::string kName = "fuzz.safetensors";

bool same(const sepnet::SafetensorsFile& a, const sepnet::SafetensorsFile& b) {
  if (a.metadata != b.metadata || a.tensors.size() != b.tensors.size()) return false;
  for (const auto& [name, x] : a.tensors) {
    const auto it = b.tensors.find(name);
    if (it == b.tensors.end()) return false;
    const auto& y = it->second;
    if (x.shape != y.shape || x.data.size() != y.data.size()) return false;
    if (!x.data.empty() && std::memcmp(x.data.data(), y.data.data(), x.data.size() * sizeof(float)) != 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  sepnet::SafetensorsFile file;
  try {
    file = sepnet::parse_safetensors(bytes, kName);
  } catch (const std::runtime_error& e) {
    sepnet::fuzz::check_names_file(e.what(), kName);
    return 0;
  }
  // The writer refuses an empty tensor name, which the format (and so the reader) allows.
  if (file.tensors.count("")) return 0;
  std::string again;
  try {
    again = sepnet::serialize_safetensors(file, kName);
  } catch (const std::runtime_error& e) {
    sepnet::fuzz::finding(std::string("a file that loads cannot be saved: ") + e.what());
  }
  try {
    const sepnet::SafetensorsFile back = sepnet::parse_safetensors(again, "round trip");
    if (!same(file, back)) sepnet::fuzz::finding("round trip changed the file");
  } catch (const std::runtime_error& e) {
    sepnet::fuzz::finding(std::string("a saved file does not load: ") + e.what());
  }
  return 0;
}
