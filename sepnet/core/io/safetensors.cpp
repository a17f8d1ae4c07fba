#include "sepnet/core/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sepnet/core/io/atomic_file.h"

namespace sepnet {

// The file stores little-endian floats and we copy them with memcpy.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

namespace {

using json = nlohmann::json;

// Same cap as the reference implementation: a header beyond this is corruption, not a model.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string single_quoted(const std::string& name) { return "'" + name + "'"; }

}  // namespace

void save_safetensors(const std::string& path, const SafetensorsFile& file) {
  json header = json::object();
  if (!file.metadata.empty()) {
    json meta = json::object();
    for (const auto& [k, v] : file.metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& [name, array] : file.tensors) {
    if (name.empty()) fail(path, "cannot save a tensor with an empty name");
    if (name == "__metadata__") fail(path, "cannot save a tensor named '__metadata__' (reserved for metadata)");
    uint64_t elements = 1;
    for (int64_t d : array.shape) {
      if (d < 0) fail(path, "cannot save tensor " + single_quoted(name) + ": negative dimension in shape " + shape_text(array.shape));
      if (__builtin_mul_overflow(elements, static_cast<uint64_t>(d), &elements))
        fail(path, "cannot save tensor " + single_quoted(name) + ": shape " + shape_text(array.shape) + " overflows");
    }
    if (elements != array.data.size())
      fail(path, "cannot save tensor " + single_quoted(name) + ": shape " + shape_text(array.shape) + " has " +
                     std::to_string(elements) + " elements but the data has " + std::to_string(array.data.size()));
    const uint64_t bytes = elements * sizeof(float);
    header[name] = {{"dtype", "F32"}, {"shape", array.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }

  std::string header_text;
  try {
    header_text = header.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    fail(path, std::string("cannot save: a tensor name or metadata string is not valid UTF-8 (") + e.what() + ")");
  }
  // Pad with spaces so the data buffer starts 8-byte aligned (the format's convention).
  header_text.append((8 - header_text.size() % 8) % 8, ' ');

  std::string out;
  out.reserve(8 + header_text.size() + offset);
  const uint64_t n = header_text.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  out += header_text;
  for (const auto& [name, array] : file.tensors)
    out.append(reinterpret_cast<const char*>(array.data.data()), array.data.size() * sizeof(float));
  write_file_atomically(path, out);
}

namespace {

// Parses the header, rejecting duplicate keys in any object (nlohmann would silently keep the last).
json parse_header(const std::string& path, const char* begin, const char* end) {
  std::vector<std::vector<std::string>> keys_per_object;
  std::string duplicate;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start: keys_per_object.emplace_back(); break;
      case json::parse_event_t::object_end: keys_per_object.pop_back(); break;
      case json::parse_event_t::key: {
        auto& seen = keys_per_object.back();
        const auto& key = parsed.get_ref<const std::string&>();
        if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
          if (duplicate.empty()) duplicate = key;
        } else {
          seen.push_back(key);
        }
        break;
      }
      default: break;
    }
    return true;
  };
  // nlohmann stops at a NUL byte as if the input ended there; the format allows only space padding.
  if (const void* nul = std::memchr(begin, '\0', static_cast<size_t>(end - begin)))
    fail(path, "header is not valid JSON: NUL byte at header offset " +
                   std::to_string(static_cast<const char*>(nul) - begin) + " (only space padding is allowed)");
  json header;
  try {
    header = json::parse(begin, end, callback);
  } catch (const json::parse_error& e) {
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!duplicate.empty()) fail(path, "header has duplicate key " + single_quoted(duplicate));
  if (!header.is_object()) fail(path, std::string("header JSON must be an object, got ") + header.type_name());
  return header;
}

// Reads a JSON number that must be a non-negative integer.
bool as_u64(const json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

struct Entry {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0, elements = 0;
};

Entry parse_tensor_entry(const std::string& path, const std::string& name, const json& info) {
  const std::string what = "tensor " + single_quoted(name);
  if (!info.is_object()) fail(path, what + ": entry must be a JSON object, got " + info.type_name());
  for (const char* field : {"dtype", "shape", "data_offsets"})
    if (!info.contains(field)) fail(path, what + ": missing field \"" + field + "\"");

  const json& dtype = info["dtype"];
  if (!dtype.is_string()) fail(path, what + ": \"dtype\" must be a string, got " + dtype.type_name());
  if (dtype.get<std::string>() != "F32")
    fail(path, what + ": unsupported dtype \"" + dtype.get<std::string>() + "\" (only F32 is supported)");

  Entry e;
  e.name = name;
  const json& shape = info["shape"];
  if (!shape.is_array()) fail(path, what + ": \"shape\" must be an array, got " + shape.type_name());
  e.elements = 1;
  for (const json& d : shape) {
    uint64_t v = 0;
    if (!as_u64(d, &v) || v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail(path, what + ": \"shape\" must hold non-negative integers, got " + shape.dump());
    if (__builtin_mul_overflow(e.elements, v, &e.elements) || e.elements > std::numeric_limits<uint64_t>::max() / 4)
      fail(path, what + ": shape " + shape.dump() + " is absurdly large");
    e.shape.push_back(static_cast<int64_t>(v));
  }

  const json& offsets = info["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !as_u64(offsets[0], &e.begin) || !as_u64(offsets[1], &e.end))
    fail(path, what + ": \"data_offsets\" must be [begin, end] with non-negative integers, got " + offsets.dump());
  if (e.end < e.begin) fail(path, what + ": data_offsets " + offsets.dump() + " have end < begin");
  if (e.end - e.begin != e.elements * 4)
    fail(path, what + ": shape " + shape_text(e.shape) + " has " + std::to_string(e.elements) + " elements = " +
                   std::to_string(e.elements * 4) + " bytes of F32, but data_offsets " + offsets.dump() + " span " +
                   std::to_string(e.end - e.begin) + " bytes");
  return e;
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  const std::string bytes = read_file_bytes(path);
  if (bytes.size() < 8)
    fail(path, "truncated: file is " + std::to_string(bytes.size()) +
                   " bytes, shorter than the 8-byte header length field");
  uint64_t header_len = 0;
  for (int i = 0; i < 8; ++i) header_len |= uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  if (header_len > kMaxHeaderBytes)
    fail(path, "bad header length " + std::to_string(header_len) + ": absurdly large (limit " +
                   std::to_string(kMaxHeaderBytes) + " bytes); not a safetensors file?");
  if (header_len > bytes.size() - 8)
    fail(path, "truncated: header length " + std::to_string(header_len) + " exceeds the " +
                   std::to_string(bytes.size() - 8) + " bytes that follow the length field");
  if (header_len == 0) fail(path, "bad header length 0: the JSON header is empty");

  const char* header_begin = bytes.data() + 8;
  const json header = parse_header(path, header_begin, header_begin + header_len);

  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) fail(path, std::string("\"__metadata__\" must be an object, got ") + value.type_name());
      for (const auto& [mk, mv] : value.items()) {
        if (!mv.is_string())
          fail(path, "\"__metadata__\" value for key " + single_quoted(mk) + " must be a string, got " + mv.type_name());
        out.metadata[mk] = mv.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_tensor_entry(path, key, value));
  }

  // The data buffer must be covered exactly: in offset order, each tensor starts where the previous ends.
  const uint64_t buffer_size = bytes.size() - 8 - header_len;
  for (const Entry& e : entries)
    if (e.end > buffer_size)
      fail(path, "tensor " + single_quoted(e.name) + ": data_offsets [" + std::to_string(e.begin) + ", " +
                     std::to_string(e.end) + "] out of range: the data buffer after the header has only " +
                     std::to_string(buffer_size) + " bytes (truncated file?)");
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t cursor = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < cursor)
      fail(path, "overlapping data: tensor " + single_quoted(e.name) + " starts at byte " + std::to_string(e.begin) +
                     " inside tensor " + single_quoted(previous->name) + " which ends at byte " + std::to_string(cursor));
    if (e.begin > cursor)
      fail(path, "non-contiguous data: " + std::to_string(e.begin - cursor) + " unused bytes before tensor " +
                     single_quoted(e.name) + " (starts at byte " + std::to_string(e.begin) + ", expected " +
                     std::to_string(cursor) + ")");
    cursor = e.end;
    previous = &e;
  }
  if (cursor != buffer_size)
    fail(path, "trailing bytes: tensors cover " + std::to_string(cursor) + " bytes but the data buffer has " +
                   std::to_string(buffer_size) + " (" + std::to_string(buffer_size - cursor) + " unused)");

  const char* data = bytes.data() + 8 + header_len;
  for (const Entry& e : entries) {
    NamedArray a;
    a.shape = e.shape;
    a.data.resize(e.elements);
    if (e.elements) std::memcpy(a.data.data(), data + e.begin, e.elements * sizeof(float));
    out.tensors.emplace(e.name, std::move(a));
  }
  return out;
}

}  // namespace sepnet
