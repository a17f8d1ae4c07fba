#include "sepnet/train/recipe.h"

namespace sepnet::train {

const std::vector<Recipe>& recipes() {
  static const std::vector<Recipe> all{
      {"seed", "sgd", 0.01f, 0.9f, 64, 5, "softmax-ce"},
      {"standard", "adam", 1e-3f, 0.0f, 64, 5, "ce"},
  };
  return all;
}

std::optional<Recipe> find_recipe(const std::string& name) {
  for (const Recipe& r : recipes())
    if (r.name == name) return r;
  return std::nullopt;
}

}  // namespace sepnet::train
