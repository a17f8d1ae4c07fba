#include "sepnet/core/io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
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

// At most 32 dimensions are spelled out: a hostile file can declare millions.
std::string shape_text(const std::vector<int64_t>& shape) {
  constexpr size_t kMaxShown = 32;
  std::string s = "[";
  for (size_t i = 0; i < shape.size() && i < kMaxShown; ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() > kMaxShown) s += ", ... (" + std::to_string(shape.size()) + " dimensions)";
  return s + "]";
}

// Messages quote names and values from the file, which a hostile file can make megabytes long.
std::string clipped(std::string_view text) {
  constexpr size_t kMaxQuoted = 200;
  if (text.size() <= kMaxQuoted) return std::string(text);
  return std::string(text.substr(0, kMaxQuoted)) + "... (" + std::to_string(text.size()) + " bytes)";
}

// Appended piece by piece: GCC 12 warns falsely (-Wrestrict) about "'" + std::string&&.
std::string single_quoted(std::string_view name) {
  std::string s(1, '\'');
  s += clipped(name);
  s += '\'';
  return s;
}

}  // namespace

std::string serialize_safetensors(const SafetensorsFile& file, const std::string& path) {
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
      if (d < 0)
        fail(path, "cannot save tensor " + single_quoted(name) + ": negative dimension in shape " +
                       shape_text(array.shape));
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
  return out;
}

void save_safetensors(const std::string& path, const SafetensorsFile& file) {
  write_file_atomically(path, serialize_safetensors(file, path));
}

namespace {

// The dtypes of the format (the reference implementation's list); only F32 loads into sepnet.
bool is_known_dtype(std::string_view dtype) {
  static constexpr std::string_view kKnown[] = {"BOOL", "U8",   "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16", "F16",
                                                "BF16", "I32",  "U32", "F32",     "F64",     "I64", "U64"};
  return std::find(std::begin(kKnown), std::end(kKnown), dtype) != std::end(kKnown);
}

struct Entry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t offsets[2] = {0, 0};
  size_t offset_count = 0;
  bool has_dtype = false, has_shape = false, has_offsets = false;
  uint64_t begin = 0, end = 0, elements = 0;
};

std::string offsets_text(const Entry& e) {
  return "[" + std::to_string(e.begin) + "," + std::to_string(e.end) + "]";
}

// Builds the tensor table straight from the header's JSON events. Holding no JSON tree keeps
// memory within a small factor of the header's own size whatever its shape (a DOM of a 100 MB
// array of zeros takes gigabytes), and the first problem stops the parse: a handler returns false
// after setting `error`.
class HeaderReader final : public json::json_sax_t {
 public:
  std::map<std::string, std::string> metadata;
  std::vector<Entry> entries;
  std::string error;

  bool null() override { return scalar("null"); }
  bool boolean(bool v) override { return scalar(v ? "true" : "false"); }
  bool number_integer(json::number_integer_t v) override {
    return v >= 0 ? integer(static_cast<uint64_t>(v)) : scalar(std::to_string(v));
  }
  bool number_unsigned(json::number_unsigned_t v) override { return integer(v); }
  bool number_float(json::number_float_t, const json::string_t& text) override { return scalar(clipped(text)); }
  bool string(json::string_t& v) override;
  bool binary(json::binary_t&) override { return scalar("binary data"); }  // the JSON parser never emits it
  bool start_object(std::size_t) override;
  bool key(json::string_t& k) override;
  bool end_object() override;
  bool start_array(std::size_t) override;
  bool end_array() override;
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return stop(std::string("header is not valid JSON: ") + e.what());
  }

 private:
  enum class At { kStart, kTop, kMetadata, kEntry, kShape, kOffsets, kSkip, kDone };
  enum class Field { kDtype, kShape, kOffsets, kOther };

  bool stop(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }
  bool stop_tensor(const std::string& message) { return stop("tensor " + single_quoted(entry_.name) + ": " + message); }
  // A value other than an array or object, described by `text`.
  bool scalar(const std::string& text) { return wrong_value(text, false); }
  bool integer(uint64_t v);
  bool wrong_value(const std::string& what, bool container);
  bool finish_entry();

  At at_ = At::kStart;
  Field field_ = Field::kOther;
  std::string key_;  // the top-level or metadata key whose value comes next
  Entry entry_;      // the tensor being read
  bool seen_metadata_ = false;
  uint64_t skip_depth_ = 0;  // nesting inside an ignored field's value
};

// Every value its place does not consume ends here: an error, or a skip inside an ignored field.
bool HeaderReader::wrong_value(const std::string& what, bool container) {
  switch (at_) {
    case At::kStart: return stop("header JSON must be an object, got " + what);
    case At::kTop:
      if (key_ == "__metadata__") return stop("\"__metadata__\" must be an object, got " + what);
      return stop("tensor " + single_quoted(key_) + ": entry must be a JSON object, got " + what);
    case At::kMetadata:
      return stop("\"__metadata__\" value for key " + single_quoted(key_) + " must be a string, got " + what);
    case At::kEntry:
      switch (field_) {
        case Field::kDtype: return stop_tensor("\"dtype\" must be a string, got " + what);
        case Field::kShape: return stop_tensor("\"shape\" must be an array, got " + what);
        case Field::kOffsets:
          return stop_tensor("\"data_offsets\" must be [begin, end] with non-negative integers, got " + what);
        case Field::kOther:
          if (container) {
            at_ = At::kSkip;
            skip_depth_ = 1;
          }
          return true;
      }
      break;
    case At::kShape: return stop_tensor("\"shape\" must hold non-negative integers, got " + what);
    case At::kOffsets:
      return stop_tensor("\"data_offsets\" must be [begin, end] with non-negative integers, got " + what);
    case At::kSkip:
      if (container) ++skip_depth_;
      return true;
    case At::kDone: break;
  }
  return stop("header JSON has an unexpected " + what);
}

bool HeaderReader::integer(uint64_t v) {
  if (at_ == At::kShape) {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return stop_tensor("\"shape\" must hold non-negative integers up to 2^63-1, got " + std::to_string(v));
    entry_.shape.push_back(static_cast<int64_t>(v));
    if (__builtin_mul_overflow(entry_.elements, v, &entry_.elements) ||
        entry_.elements > std::numeric_limits<uint64_t>::max() / sizeof(float))
      return stop_tensor("shape " + shape_text(entry_.shape) + "... is absurdly large (its bytes overflow 64 bits)");
    return true;
  }
  if (at_ == At::kOffsets) {
    if (entry_.offset_count == 2)
      return stop_tensor("\"data_offsets\" must be [begin, end] with non-negative integers, got more than two values");
    entry_.offsets[entry_.offset_count++] = v;
    return true;
  }
  return scalar(std::to_string(v));
}

bool HeaderReader::string(json::string_t& v) {
  if (at_ == At::kMetadata) {
    if (!metadata.try_emplace(std::move(key_), std::move(v)).second)  // moves nothing when the key exists
      return stop("header has duplicate key " + single_quoted(key_) + " in \"__metadata__\"");
    return true;
  }
  if (at_ == At::kEntry && field_ == Field::kDtype) {
    entry_.dtype = std::move(v);
    return true;
  }
  return scalar("string \"" + clipped(v) + "\"");
}

bool HeaderReader::start_object(std::size_t) {
  if (at_ == At::kStart) {
    at_ = At::kTop;
    return true;
  }
  if (at_ == At::kTop && key_ == "__metadata__") {
    at_ = At::kMetadata;
    return true;
  }
  if (at_ == At::kTop) {
    entry_ = Entry{};
    entry_.name = std::move(key_);
    entry_.elements = 1;
    at_ = At::kEntry;
    return true;
  }
  return wrong_value("object", true);
}

bool HeaderReader::start_array(std::size_t) {
  if (at_ == At::kEntry && field_ == Field::kShape) {
    at_ = At::kShape;
    return true;
  }
  if (at_ == At::kEntry && field_ == Field::kOffsets) {
    at_ = At::kOffsets;
    return true;
  }
  return wrong_value("array", true);
}

bool HeaderReader::key(json::string_t& k) {
  switch (at_) {
    case At::kTop:
      if (k == "__metadata__") {
        if (seen_metadata_) return stop("header has duplicate key '__metadata__'");
        seen_metadata_ = true;
      }
      key_ = std::move(k);  // duplicate tensor names are found once all are read
      return true;
    case At::kMetadata: key_ = std::move(k); return true;
    case At::kEntry: {
      bool* seen = nullptr;
      field_ = Field::kOther;
      if (k == "dtype") {
        field_ = Field::kDtype;
        seen = &entry_.has_dtype;
      } else if (k == "shape") {
        field_ = Field::kShape;
        seen = &entry_.has_shape;
      } else if (k == "data_offsets") {
        field_ = Field::kOffsets;
        seen = &entry_.has_offsets;
      }
      if (!seen) return true;  // other fields are ignored, as the reference implementation does
      if (*seen) return stop_tensor("duplicate key \"" + k + "\"");
      *seen = true;
      return true;
    }
    default: return true;  // keys inside an ignored field's value
  }
}

bool HeaderReader::end_object() {
  switch (at_) {
    case At::kTop: at_ = At::kDone; return true;
    case At::kMetadata: at_ = At::kTop; return true;
    case At::kEntry:
      if (!finish_entry()) return false;
      entries.push_back(std::move(entry_));
      at_ = At::kTop;
      return true;
    case At::kSkip:
      if (--skip_depth_ == 0) at_ = At::kEntry;
      return true;
    default: return stop("header JSON is malformed");  // the parser pairs brackets, so this cannot happen
  }
}

bool HeaderReader::end_array() {
  switch (at_) {
    case At::kShape: at_ = At::kEntry; return true;
    case At::kOffsets:
      if (entry_.offset_count != 2)
        return stop_tensor("\"data_offsets\" must be [begin, end] with non-negative integers, got " +
                           std::to_string(entry_.offset_count) + " value(s)");
      at_ = At::kEntry;
      return true;
    case At::kSkip:
      if (--skip_depth_ == 0) at_ = At::kEntry;
      return true;
    default: return stop("header JSON is malformed");
  }
}

// A tensor's own fields are complete: check them against each other.
bool HeaderReader::finish_entry() {
  if (!entry_.has_dtype) return stop_tensor("missing field \"dtype\"");
  if (!entry_.has_shape) return stop_tensor("missing field \"shape\"");
  if (!entry_.has_offsets) return stop_tensor("missing field \"data_offsets\"");
  if (!is_known_dtype(entry_.dtype)) return stop_tensor("unknown dtype \"" + clipped(entry_.dtype) + "\"");
  if (entry_.dtype != "F32")
    return stop_tensor("unsupported dtype \"" + entry_.dtype + "\" (only F32 is supported)");
  entry_.begin = entry_.offsets[0];
  entry_.end = entry_.offsets[1];
  if (entry_.end < entry_.begin) return stop_tensor("data_offsets " + offsets_text(entry_) + " have end < begin");
  if (entry_.end - entry_.begin != entry_.elements * sizeof(float))
    return stop_tensor("shape " + shape_text(entry_.shape) + " has " + std::to_string(entry_.elements) +
                       " elements = " + std::to_string(entry_.elements * sizeof(float)) +
                       " bytes of F32, but data_offsets " + offsets_text(entry_) + " span " +
                       std::to_string(entry_.end - entry_.begin) + " bytes");
  return true;
}

HeaderReader read_header(const std::string& path, std::string_view header) {
  // nlohmann stops at a NUL byte as if the input ended there; the format allows only space padding.
  if (const void* nul = std::memchr(header.data(), '\0', header.size()))
    fail(path, "header is not valid JSON: NUL byte at header offset " +
                   std::to_string(static_cast<const char*>(nul) - header.data()) + " (only space padding is allowed)");
  HeaderReader reader;
  bool ok = false;
  try {
    ok = json::sax_parse(header.data(), header.data() + header.size(), &reader);
  } catch (const json::exception& e) {  // the SAX parser reports through parse_error(); this is a safety net
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  if (!ok) fail(path, reader.error.empty() ? std::string("header is not valid JSON") : reader.error);
  return reader;
}

void check_unique_names(const std::string& path, const std::vector<Entry>& entries) {
  std::vector<const std::string*> names;
  names.reserve(entries.size());
  for (const Entry& e : entries) names.push_back(&e.name);
  std::sort(names.begin(), names.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
  for (size_t i = 1; i < names.size(); ++i)
    if (*names[i] == *names[i - 1]) fail(path, "header has duplicate key " + single_quoted(*names[i]));
}

// The data buffer must be covered exactly: in offset order, each tensor starts where the previous ends.
void check_layout(const std::string& path, std::vector<Entry>& entries, uint64_t buffer_size) {
  for (const Entry& e : entries)
    if (e.end > buffer_size)
      fail(path, "tensor " + single_quoted(e.name) + ": data_offsets " + offsets_text(e) +
                     " out of range: the data buffer after the header has only " + std::to_string(buffer_size) +
                     " bytes (truncated file?)");
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t cursor = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < cursor)
      fail(path, "overlapping data: tensor " + single_quoted(e.name) + " starts at byte " + std::to_string(e.begin) +
                     " inside tensor " + single_quoted(previous->name) + " which ends at byte " +
                     std::to_string(cursor));
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
}

}  // namespace

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& path) {
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

  HeaderReader header = read_header(path, bytes.substr(8, header_len));
  check_unique_names(path, header.entries);
  const std::string_view data = bytes.substr(8 + header_len);
  check_layout(path, header.entries, data.size());

  SafetensorsFile out;
  out.metadata = std::move(header.metadata);
  for (Entry& e : header.entries) {
    NamedArray a;
    a.shape = std::move(e.shape);
    a.data.resize(e.elements);
    if (e.elements) std::memcpy(a.data.data(), data.data() + e.begin, e.elements * sizeof(float));
    out.tensors.emplace(std::move(e.name), std::move(a));
  }
  return out;
}

SafetensorsFile load_safetensors(const std::string& path) { return parse_safetensors(read_file_bytes(path), path); }

}  // namespace sepnet
