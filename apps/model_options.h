// The model options every subcommand shares (--model, --no-bn, --width, --resolution,
// --image-size, --conv, --layout), bound to one models::ModelSpec and checked against the registry.
#pragma once
#include <CLI/CLI.hpp>

#include "sepnet/models/registry.h"

namespace sepnet::app {

// `default_model` is the --model default; the spec's other fields stay 0 (model defaults, or
// the data set's shape when training) unless given.
void add_model_options(CLI::App& command, models::ModelSpec& spec, const std::string& default_model);
// "cnn | dw | dwsep | mobilenet" from the registry.
std::string model_choices();

}  // namespace sepnet::app
