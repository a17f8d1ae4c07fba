#include "apps/model_options.h"

#include <memory>

namespace sepnet::app {

std::string model_choices() {
  std::string s;
  for (const std::string& name : models::model_names()) s += (s.empty() ? "" : " | ") + name;
  return s;
}

void add_model_options(CLI::App& command, models::ModelSpec& spec, const std::string& default_model) {
  spec.name = default_model;
  const CLI::Validator registered(
      [](std::string& name) { return models::has_model(name) ? std::string() : "unknown model (registered: " + model_choices() + ")"; },
      "MODEL");
  command.add_option("--model", spec.name, model_choices() + " (default " + default_model + ")")->check(registered);
  command.add_flag_callback("--no-bn", [&spec] { spec.batch_norm = false; }, "leave out the BatchNorm layers (MNIST nets)");
  command.add_option("--width", spec.width, "width multiplier α (MobileNet)")->check(CLI::Range(0.01, 1.0));
  command.add_option("--resolution", spec.resolution, "resolution multiplier ρ: image side round(224·ρ) (MobileNet)")
      ->check(CLI::Range(0.05, 4.0));
  command.add_option("--image-size", spec.image_size, "input side in pixels (default: the model's, or the data set's)")
      ->check(CLI::Range(1, 4096));
  command.add_option("--conv", spec.conv,
                     "separable (default) | full: every depthwise-separable block as one full 3×3 conv (MobileNet; "
                     "the paper's Table 4 baseline)")
      ->check(CLI::IsMember({"separable", "full"}));
  command.add_option_function<std::string>(
             "--layout", [&spec](const std::string& v) { spec.channels_last = v == "nhwc"; },
             "activations after the stem: nhwc (channels-last, default) | nchw (MobileNet; same parameters)")
      ->check(CLI::IsMember({"nhwc", "nchw"}));
}

}  // namespace sepnet::app
