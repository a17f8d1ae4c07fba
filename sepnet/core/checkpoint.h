// Checkpoints in the safetensors format. The model file holds exactly the module's
// state_dict under PyTorch's names (so PyTorch or any safetensors reader can load it) plus
// string metadata; optimizer state goes to a separate file beside it so the model file stays
// a clean state_dict. Writes are atomic (temp file + rename): a crash never leaves a torn file.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "sepnet/core/nn/module.h"
#include "sepnet/core/optim/optimizer.h"

namespace sepnet {

using Metadata = std::map<std::string, std::string>;

void save_model(const std::string& path, const nn::Module& model, const Metadata& metadata);
// Copies the file's tensors into the model after checking that names and shapes match exactly
// (missing, unexpected and mis-shaped tensors are all listed in the error) and that every value
// is finite (the first non-finite tensor is named). Returns metadata.
Metadata load_model(const std::string& path, nn::Module& model);
Metadata read_metadata(const std::string& path);

// The integer under `key`, which must be present, a plain decimal number and within [lo, hi];
// errors name `path` and `key`.
int64_t metadata_int(const std::string& path, const Metadata& metadata, const std::string& key, int64_t lo, int64_t hi);

void save_optimizer(const std::string& path, const optim::Optimizer& optimizer, const Metadata& metadata);
Metadata load_optimizer(const std::string& path, optim::Optimizer& optimizer);

}  // namespace sepnet
