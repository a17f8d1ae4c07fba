// How errors name a node: "node 3 'features.0' (Conv)".
#pragma once
#include <cstddef>
#include <string>

#include "sepnet/infer/graph.h"

namespace sepnet::infer {

std::string node_label(const Graph& graph, size_t index);

}  // namespace sepnet::infer
