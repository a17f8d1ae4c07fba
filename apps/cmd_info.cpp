// sepnet info: per-layer output shape, parameters and multiply-accumulates of a model.
#include <fmt/format.h>

#include "apps/commands.h"
#include "apps/model_options.h"

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
  struct Options {
    models::ModelSpec spec;
    bool list = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("info", "per-layer table of output shape, parameters and MACs of a model");
  add_model_options(*cmd, o->spec, "cnn");
  cmd->add_flag("--list", o->list, "list the registered models instead");
  cmd->callback([o] {
    if (o->list) {
      for (const std::string& name : models::model_names())
        fmt::print("{:<12} {}\n", name, models::find_model(name).summary);
      return;
    }
    const models::ModelSpec spec = models::resolve_spec(o->spec);
    Rng rng(0);
    const auto net = models::build_model(spec, rng);
    Shape shape = models::input_shape(spec);
    fmt::print("{} — input {}\n", net->describe(), shape_to_string(shape));
    fmt::print("{:<22} {:<44} {:<18} {:>10} {:>12}\n", "layer", "module", "output", "params", "MACs");
    int64_t params = 0, macs = 0;
    print_rows(*net, "", shape, params, macs);
    fmt::print("{:<22} {:<44} {:<18} {:>10} {:>12}\n", "total", "", "", params, macs);
  });
}

}  // namespace sepnet::app
