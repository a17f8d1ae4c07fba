// Training recipes for the MNIST comparison (docs/recipes.md explains the choices).
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace sepnet::train {

struct Recipe {
  std::string name;
  std::string optimizer;  // sgd | adam
  float lr;
  float momentum;
  int batch;
  int epochs;
  std::string loss;  // ce | softmax-ce
};

// seed:     the write-up's probable recipe: SGD(momentum 0.9), lr 0.01, batch 64, 5 epochs,
//           with the tutorial's softmax-before-cross-entropy loss.
// standard: the same models trained the usual way: Adam lr 1e-3, batch 64, 5 epochs, plain
//           cross-entropy on the logits.
const std::vector<Recipe>& recipes();
std::optional<Recipe> find_recipe(const std::string& name);

}  // namespace sepnet::train
