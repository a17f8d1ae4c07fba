// sepnet info: per-layer output shape, parameters and multiply-accumulates of a model.
#include <fmt/format.h>

#include "apps/commands.h"
#include "sepnet/models/mobilenet_v1.h"
#include "sepnet/models/seed_models.h"

namespace sepnet::app {

namespace {
void print_rows(const nn::Module& module, const std::string& prefix, Shape& shape, int64_t& params, int64_t& macs) {
  for (const auto& [name, child] : module.children()) {
    const std::string full = prefix.empty() ? name : prefix + "." + name;
    if (!child->children().empty()) {
      print_rows(*child, full, shape, params, macs);  // containers: one row per leaf layer
      continue;
    }
    const int64_t p = child->parameter_count(), m = child->macs(shape);
    shape = child->output_shape(shape);
    params += p;
    macs += m;
    fmt::print("{:<22} {:<44} {:<18} {:>10} {:>12}\n", full, child->describe(), shape_to_string(shape), p, m);
  }
}
}  // namespace

void register_info(CLI::App& app) {
  auto model = std::make_shared<std::string>("cnn");
  auto no_bn = std::make_shared<bool>(false);
  auto alpha = std::make_shared<float>(1.0f);
  auto rho = std::make_shared<float>(1.0f);
  CLI::App* cmd = app.add_subcommand("info", "per-layer table of output shape, parameters and MACs");
  cmd->add_option("--model", *model, "cnn | dw | dwsep | mobilenet")->check(CLI::IsMember({"cnn", "dw", "dwsep", "mobilenet"}));
  cmd->add_flag("--no-bn", *no_bn, "leave out the BatchNorm layers (MNIST models)");
  cmd->add_option("--width", *alpha, "MobileNet width multiplier α")->check(CLI::Range(0.01, 1.0));
  cmd->add_option("--resolution", *rho, "MobileNet resolution multiplier ρ")->check(CLI::Range(0.15, 2.0));
  cmd->callback([=] {
    Rng rng(0);
    std::unique_ptr<nn::Module> net;
    Shape shape;
    if (*model == "mobilenet") {
      models::MobileNetOptions o{*alpha, *rho};
      net = std::make_unique<models::MobileNetV1>(o, rng);
      shape = {1, 3, o.input_size(), o.input_size()};
    } else {
      net = std::make_unique<models::SeedNet>(*model, !*no_bn, rng);
      shape = {1, 1, 28, 28};
    }
    fmt::print("{} — input {}\n", net->describe(), shape_to_string(shape));
    fmt::print("{:<22} {:<44} {:<18} {:>10} {:>12}\n", "layer", "module", "output", "params", "MACs");
    int64_t params = 0, macs = 0;
    print_rows(*net, "", shape, params, macs);
    fmt::print("{:<22} {:<44} {:<18} {:>10} {:>12}\n", "total", "", "", params, macs);
  });
}

}  // namespace sepnet::app
