#include "sepnet/train/run_directory.h"

#include <array>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "sepnet/core/io/atomic_file.h"
#include "sepnet/core/io/fault_point.h"

namespace sepnet::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLatest = "latest";
constexpr std::array<const char*, 3> kPublishedNames = {"model.safetensors", "optimizer.safetensors",
                                                        "metrics.jsonl"};
constexpr const char* kCheckpointPrefix = "ckpt-";
constexpr const char* kStagingPrefix = ".staging-";
constexpr int64_t kMaxEpoch = 1'000'000;

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

bool entry_exists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// A published name is ours when it is exactly the symlink this class creates.
bool is_published_link(const fs::path& dir, const std::string& name) {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(dir / name, ec))) return false;
  return fs::read_symlink(dir / name, ec) == fs::path(kLatest) / name && !ec;
}

fs::path canonical_or_throw(const fs::path& p, const std::string& what) {
  std::error_code ec;
  fs::path c = fs::canonical(p, ec);
  if (ec) throw std::runtime_error(p.string() + ": " + what + ": " + ec.message());
  return c;
}

std::string describe(const std::string& file, int epoch, const std::string& run_id) {
  return fmt::format("{} (epoch {}, run {})", file, epoch, run_id.empty() ? "without id" : run_id);
}

// The metrics history beside a checkpoint: exactly epochs 1..epoch, one JSON object per line.
// Checkpoints from before runs had ids (`strict` false) keep the consecutive prefix they have.
std::vector<std::string> read_metrics_history(const fs::path& path, int epoch, bool strict) {
  std::vector<std::string> lines;
  if (!entry_exists(path)) {
    if (strict) throw std::runtime_error(path.string() + ": missing (a checkpoint's metrics are saved with it)");
    return lines;
  }
  const std::string text = read_file_bytes(path.string());
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    int line_epoch = -1;
    try {
      line_epoch = nlohmann::json::parse(line).at("epoch").get<int>();
    } catch (const std::exception&) {
    }
    if (line_epoch != static_cast<int>(lines.size()) + 1 || line_epoch > epoch) {
      if (!strict) break;
      throw std::runtime_error(fmt::format("{}: line {} is not the record of epoch {} (the checkpoint is epoch {})",
                                           path.string(), lines.size() + 1, lines.size() + 1, epoch));
    }
    lines.push_back(std::move(line));
  }
  if (strict && static_cast<int>(lines.size()) != epoch)
    throw std::runtime_error(fmt::format("{}: holds {} epoch record(s), the checkpoint beside it is epoch {}",
                                         path.string(), lines.size(), epoch));
  return lines;
}

}  // namespace

bool holds_run(const std::string& dir) {
  // A run is something published (`latest`) or a file of another kind under a published name;
  // this class's own links with nothing published yet, and unpublished leftovers, are not.
  const fs::path d = dir;
  if (entry_exists(d / kLatest)) return true;
  for (const char* name : kPublishedNames)
    if (entry_exists(d / name) && !is_published_link(d, name)) return true;
  return false;
}

void check_run_directory_free(const std::string& dir, bool overwrite, const SavedCheckpoint* resumed) {
  std::error_code ec;
  const bool continues_here = resumed != nullptr && fs::equivalent(resumed->run_dir, dir, ec);
  if (!overwrite && !continues_here && holds_run(dir))
    throw std::runtime_error(dir + ": holds another run; pass --overwrite to replace it (the old run stays until "
                                   "the new one publishes its first epoch), or --resume " + dir + " to continue it");
}

SavedCheckpoint find_checkpoint(const std::string& path) {
  const fs::path p = path;
  std::error_code ec;
  const auto status = fs::status(p, ec);
  if (ec || !fs::exists(status)) throw std::runtime_error(path + ": no such checkpoint or run directory");
  SavedCheckpoint c;
  fs::path dir, model;
  if (fs::is_directory(status)) {
    if (entry_exists(p / kLatest)) {
      dir = canonical_or_throw(p / kLatest, "the run's 'latest' checkpoint cannot be resolved");
    } else if (entry_exists(p / "model.safetensors")) {
      dir = canonical_or_throw(p, "cannot resolve");
    } else {
      throw std::runtime_error(path + ": not a run directory (no 'latest' checkpoint) and no model.safetensors in it");
    }
    model = dir / "model.safetensors";
  } else {
    model = canonical_or_throw(p, "cannot resolve");
    dir = model.parent_path();
  }
  const bool in_checkpoint_dir = starts_with(dir.filename().string(), kCheckpointPrefix);
  c.run_dir = (in_checkpoint_dir ? dir.parent_path() : dir).string();
  c.dir = dir.string();
  c.model_path = model.string();
  c.optimizer_path = (dir / "optimizer.safetensors").string();
  if (!entry_exists(c.optimizer_path))
    throw std::runtime_error(c.optimizer_path + ": missing (resuming needs the optimizer state saved with " +
                             c.model_path + ")");

  c.model_metadata = read_metadata(c.model_path);
  const Metadata optimizer_metadata = read_metadata(c.optimizer_path);
  c.epoch = static_cast<int>(metadata_int(c.model_path, c.model_metadata, "epoch", 0, kMaxEpoch));
  const int optimizer_epoch = static_cast<int>(metadata_int(c.optimizer_path, optimizer_metadata, "epoch", 0, kMaxEpoch));
  auto id_of = [](const Metadata& m) {
    const auto it = m.find("run_id");
    return it == m.end() ? std::string() : it->second;
  };
  c.run_id = id_of(c.model_metadata);
  const std::string optimizer_run = id_of(optimizer_metadata);
  if (c.epoch != optimizer_epoch || c.run_id != optimizer_run)
    throw std::runtime_error("these files were not saved together: " + describe(c.model_path, c.epoch, c.run_id) +
                             " and " + describe(c.optimizer_path, optimizer_epoch, optimizer_run) +
                             "; resume from a complete checkpoint (a run directory's 'latest')");
  c.metrics_lines = read_metrics_history(dir / "metrics.jsonl", c.epoch, /*strict=*/!c.run_id.empty() && in_checkpoint_dir);
  return c;
}

RunDirectory::RunDirectory(const std::string& dir, bool overwrite, const SavedCheckpoint* resumed) : dir_(dir) {
  if (dir.empty()) throw std::invalid_argument("the run directory (--out) is an empty path");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error(dir + ": cannot create the run directory: " + ec.message());
  if (!fs::is_directory(dir, ec)) throw std::runtime_error(dir + ": exists and is not a directory");
  lock_ = DirectoryLock(dir);

  check_run_directory_free(dir, overwrite, resumed);
  const bool continues_here = resumed != nullptr && fs::equivalent(resumed->run_dir, dir, ec);
  replace_foreign_ = !continues_here && holds_run(dir);
  if (resumed != nullptr) metrics_lines_ = resumed->metrics_lines;
  remove_leftovers(resumed != nullptr && continues_here ? resumed->dir : std::string());
  if (!replace_foreign_) ensure_published_names();
}

void RunDirectory::ensure_published_names() {
  for (const char* name : kPublishedNames)
    if (!entry_exists(fs::path(dir_) / name)) replace_symlink((fs::path(dir_) / name).string(), fs::path(kLatest) / name);
}

// Removes what an interrupted save leaves: staging directories, temporary names, and checkpoint
// directories that `latest` does not name (renamed into place, never published), except `keep`.
void RunDirectory::remove_leftovers(const std::string& keep) {
  const fs::path d = dir_;
  std::error_code ec;
  fs::path published;
  if (entry_exists(d / kLatest)) published = fs::read_symlink(d / kLatest, ec);
  std::vector<fs::path> doomed;
  for (const auto& e : fs::directory_iterator(d, ec)) {
    const std::string name = e.path().filename().string();
    bool temporary = starts_with(name, kStagingPrefix) || starts_with(name, "latest.tmp-");
    for (const char* own : {"model.safetensors", "optimizer.safetensors", "metrics.jsonl", "profile.md"})
      temporary = temporary || starts_with(name, (std::string(own) + ".tmp").c_str());
    const bool unpublished = starts_with(name, kCheckpointPrefix) && fs::path(name) != published &&
                             (keep.empty() || !fs::equivalent(e.path(), keep, ec));
    if (temporary || unpublished) doomed.push_back(e.path());
  }
  for (const auto& p : doomed) fs::remove_all(p, ec);  // removes symlinks themselves, never their targets
}

void RunDirectory::publish(int epoch, const nn::Module& model, const optim::Optimizer& optimizer,
                           const Metadata& metadata, const std::string& metrics_line) {
  const fs::path d = dir_;
  const std::string nonce = random_hex(8);
  const fs::path staging = d / (kStagingPrefix + nonce);
  std::vector<std::string> lines = metrics_lines_;
  lines.push_back(metrics_line);
  std::string metrics_text;
  for (const auto& l : lines) metrics_text += l + "\n";

  make_new_directory(staging.string());
  fault_point("staging directory created");
  try {
    save_model((staging / "model.safetensors").string(), model, metadata);
    fault_point("model written");
    save_optimizer((staging / "optimizer.safetensors").string(), optimizer, metadata);
    fault_point("optimizer written");
    write_file_atomically((staging / "metrics.jsonl").string(), metrics_text);
    fault_point("metrics written");
    fsync_directory(staging.string());
  } catch (...) {
    std::error_code ec;
    fs::remove_all(staging, ec);
    throw;
  }
  const std::string name = fmt::format("{}{:06d}-{}", kCheckpointPrefix, epoch, nonce);
  rename_durably(staging.string(), (d / name).string());
  fault_point("checkpoint directory renamed");
  replace_symlink((d / kLatest).string(), name);  // the commit point
  metrics_lines_ = std::move(lines);
  fault_point("latest replaced");

  for (const char* published : kPublishedNames)
    if (!is_published_link(d, published)) {
      replace_symlink((d / published).string(), fs::path(kLatest) / published);
      fault_point("published name replaced");
    }
  replace_foreign_ = false;
  std::error_code ec;
  std::vector<fs::path> superseded;
  for (const auto& e : fs::directory_iterator(d, ec)) {
    const std::string entry = e.path().filename().string();
    if (starts_with(entry, kCheckpointPrefix) && entry != name) superseded.push_back(e.path());
  }
  for (const auto& p : superseded) {
    fs::remove_all(p, ec);
    fault_point("old checkpoint removed");
  }
}

}  // namespace sepnet::train
