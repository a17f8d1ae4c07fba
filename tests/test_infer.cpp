// The inference graph (validate, infer_shapes), the reference evaluator, the executor's passes
// and arenas, and lowered models: the executor against run_reference on randomized graphs
// covering every op, and against the autograd models' eval forward.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "sepnet/core/data/dataset.h"
#include "sepnet/core/autograd.h"
#include "sepnet/core/random.h"
#include "sepnet/infer/executor.h"
#include "sepnet/infer/passes.h"
#include "sepnet/models/registry.h"

using namespace sepnet;
using infer::Attributes;
using infer::Graph;
using infer::kBatch;
using infer::OpKind;

namespace {

Tensor random_tensor(const Shape& shape, Rng& rng, float low = -1.0f, float high = 1.0f) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(low, high);
  return t;
}

// Builds graphs node by node; output shapes are left for infer_shapes.
struct Builder {
  Graph g;
  Rng rng{7};
  int input(const Shape& shape) {
    g.input = g.add_value({"input", shape, Tensor()});
    return g.input;
  }
  int constant(const Shape& shape, float low = -1.0f, float high = 1.0f) {
    return g.add_constant(fmt::format("c{}", g.values.size()), random_tensor(shape, rng, low, high));
  }
  int node(OpKind op, std::vector<int> inputs, Attributes a = {}) {
    infer::Node n;
    n.op = op;
    n.name = fmt::format("{}{}", infer::op_name(op), g.nodes.size());
    n.inputs = std::move(inputs);
    n.attributes = std::move(a);
    return g.output = g.add_node(std::move(n), fmt::format("v{}", g.values.size()), {});
  }
  int conv(int x, int in, int out, int k, Attributes a = {}, bool bias = true) {
    std::vector<int> inputs{x, constant({out, in / a.group, k, k}, -0.5f, 0.5f)};
    if (bias) inputs.push_back(constant({out}));
    return node(OpKind::conv, inputs, a);
  }
  // Inference BN with trained-looking statistics: scale around 1, variance in [0.5, 2].
  int batch_norm(int x, int channels) {
    return node(OpKind::batch_norm, {x, constant({channels}, 0.5f, 1.5f), constant({channels}, -0.3f, 0.3f),
                                     constant({channels}, -0.5f, 0.5f), constant({channels}, 0.5f, 2.0f)});
  }
  int clip(int x, float lo, float hi) {
    Attributes a;
    a.clip_min = lo;
    a.clip_max = hi;
    return node(OpKind::clip, {x}, a);
  }
};

Attributes conv_attributes(int stride, std::array<int, 4> pads, int group = 1, int dilation = 1) {
  Attributes a;
  a.stride = {stride, stride};
  a.pads = pads;
  a.group = group;
  a.dilation = {dilation, dilation};
  return a;
}

void check_close(const Tensor& got, const Tensor& want, float tolerance = 1e-4f) {
  REQUIRE(got.shape() == want.shape());
  float scale = 1.0f;
  for (int64_t i = 0; i < want.numel(); ++i) scale = std::max(scale, std::abs(want.data()[i]));
  float worst = 0.0f;
  for (int64_t i = 0; i < want.numel(); ++i) worst = std::max(worst, std::abs(got.data()[i] - want.data()[i]));
  INFO("max |difference| " << worst << " at scale " << scale);
  CHECK(worst <= tolerance * scale);
}

// The executor, with every option combination, against the reference on batches 1 and 3, each
// run twice (the second run reuses the plan and its arenas).
void check_executor(const Graph& g, const Shape& image) {
  Rng rng(11);
  for (int options = 0; options < 8; ++options) {
    infer::ExecutorOptions o{(options & 1) != 0, (options & 2) != 0, (options & 4) != 0};
    infer::Executor executor(g, o);
    for (int64_t batch : {1, 3}) {
      Shape shape = image;
      shape.insert(shape.begin(), batch);
      const Tensor x = random_tensor(shape, rng);
      const Tensor want = infer::run_reference(g, x);
      INFO("options " << options << ", batch " << batch << "\n" << executor.summary());
      check_close(executor.run(x), want);
      check_close(executor.run(x), want);
    }
  }
}

}  // namespace

TEST_CASE("validate names the node and the problem", "[infer]") {
  Builder b;
  const int x = b.input({kBatch, 2, 5, 5});
  const int r = b.node(OpKind::relu, {x});
  b.node(OpKind::relu, {r});
  infer::validate(b.g);

  Graph cycle = b.g;
  cycle.nodes[0].inputs = {cycle.nodes[1].output};  // reads what the later node writes
  CHECK_THROWS_WITH(infer::validate(cycle), Catch::Contains("node 0 'Relu0' (Relu)") && Catch::Contains("before any node produces it"));

  Graph unknown = b.g;
  unknown.nodes[1].inputs = {99};
  CHECK_THROWS_WITH(infer::validate(unknown), Catch::Contains("node 1") && Catch::Contains("value id 99"));

  Graph wrong_constant = b.g;
  const int w = wrong_constant.add_constant("w", Tensor::zeros({3, 2, 3, 3}));
  wrong_constant.values[w].shape = {4, 2, 3, 3};
  CHECK_THROWS_WITH(infer::validate(wrong_constant), Catch::Contains("constant 'w' is declared [4, 2, 3, 3] but holds [3, 2, 3, 3]"));

  Graph no_input = b.g;
  no_input.input = -1;
  CHECK_THROWS_WITH(infer::validate(no_input), Catch::Contains("graph input id -1"));

  Graph arity = b.g;
  arity.nodes[1].inputs.push_back(x);
  CHECK_THROWS_WITH(infer::validate(arity), Catch::Contains("takes 1 inputs, not 2"));

  Builder bad_conv;
  const int y = bad_conv.input({kBatch, 4, 5, 5});
  bad_conv.conv(y, 4, 4, 3, conv_attributes(0, {0, 0, 0, 0}));
  CHECK_THROWS_WITH(infer::validate(bad_conv.g), Catch::Contains("Conv") && Catch::Contains("stride must be at least 1"));
}

TEST_CASE("infer_shapes follows ONNX's rules", "[infer]") {
  Builder b;
  const int x = b.input({kBatch, 6, 11, 9});
  const int c = b.conv(x, 6, 4, 3, conv_attributes(2, {1, 0, 2, 1}, 2));      // asymmetric pads, groups
  const int d = b.conv(c, 4, 4, 3, conv_attributes(1, {2, 2, 2, 2}, 1, 2));   // dilation 2
  Attributes pool;
  pool.kernel = {2, 3};
  pool.stride = {2, 2};
  pool.pads = {0, 1, 1, 0};
  const int p = b.node(OpKind::max_pool, {d}, pool);
  Attributes axis2;
  axis2.axis = 2;
  const int f = b.node(OpKind::flatten, {p}, axis2);
  Attributes reshape;
  reshape.shape = {0, -1, 2};
  const int r = b.node(OpKind::reshape, {f}, reshape);
  const std::vector<Shape> s = infer::infer_shapes(b.g, 5);
  CHECK(s[c] == Shape{5, 4, 6, 4});   // (11+1+2−3)/2+1, (9+0+1−3)/2+1
  CHECK(s[d] == Shape{5, 4, 6, 4});   // span 2·(3−1)+1 = 5: 6+4−5+1, 4+4−5+1
  CHECK(s[p] == Shape{5, 4, 3, 2});   // (6+0+1−2)/2+1, (4+1+0−3)/2+1
  CHECK(s[f] == Shape{20, 6});
  CHECK(s[r] == Shape{20, 3, 2});

  Builder m;
  const int a = m.input({kBatch, 3});
  Attributes trans;
  trans.trans_a = true;
  trans.trans_b = true;
  const int bm = m.constant({7, 4});
  const int cm = m.constant({1, 7});
  const int gm = m.node(OpKind::gemm, {a, bm, cm}, trans);  // Aᵀ [3 × N] · Bᵀ [4 × 7]: needs N = 4
  const int add = m.node(OpKind::add, {gm, m.constant({3, 1})});
  CHECK(infer::infer_shapes(m.g, 4)[gm] == Shape{3, 7});
  CHECK(infer::infer_shapes(m.g, 4)[add] == Shape{3, 7});
  CHECK_THROWS_WITH(infer::infer_shapes(m.g, 5), Catch::Contains("node 0") && Catch::Contains("do not multiply"));

  Builder bad;
  const int z = bad.input({kBatch, 3, 8, 8});
  bad.conv(z, 4, 8, 3);  // weight takes 4 channels, the input has 3
  CHECK_THROWS_WITH(infer::infer_shapes(bad.g, 1), Catch::Contains("input has 3 channels"));
  Builder softmax;
  Attributes axis5;
  axis5.axis = 5;
  softmax.node(OpKind::softmax, {softmax.input({kBatch, 10})}, axis5);
  CHECK_THROWS_WITH(infer::infer_shapes(softmax.g, 1), Catch::Contains("axis 5"));
}

TEST_CASE("executor matches the reference: convs of every kind, pools, gemm, softmax", "[infer]") {
  Builder b;
  const int x = b.input({kBatch, 3, 11, 9});
  int h = b.conv(x, 3, 8, 3, conv_attributes(2, {1, 0, 2, 1}));             // asymmetric pads: im2col
  h = b.node(OpKind::relu, {b.batch_norm(h, 8)});
  h = b.clip(b.batch_norm(b.conv(h, 8, 8, 3, conv_attributes(1, {1, 1, 1, 1}, 8), false), 8), 0.0f, 6.0f);  // depthwise
  h = b.batch_norm(b.conv(h, 8, 12, 1), 12);                                 // pointwise
  h = b.conv(h, 12, 6, 3, conv_attributes(1, {2, 2, 2, 2}, 3, 2));           // grouped, dilated
  h = b.node(OpKind::relu, {b.conv(h, 6, 6, 5, conv_attributes(1, {2, 2, 2, 2}))});  // direct
  Attributes max;
  max.kernel = {2, 2};
  max.stride = {2, 2};
  max.pads = {0, 0, 1, 1};
  h = b.node(OpKind::max_pool, {h}, max);
  Attributes avg;
  avg.kernel = {3, 3};
  avg.pads = {1, 1, 1, 1};
  avg.count_include_pad = true;
  const int avg_in = b.node(OpKind::average_pool, {h}, avg);
  avg.count_include_pad = false;
  h = b.node(OpKind::add, {avg_in, b.node(OpKind::average_pool, {h}, avg)});
  h = b.batch_norm(h, 6);                                                    // standalone BN after a pool
  h = b.node(OpKind::flatten, {b.node(OpKind::global_average_pool, {h})});
  Attributes gemm;
  gemm.trans_b = true;
  gemm.alpha = 0.7f;
  gemm.beta = 0.3f;
  h = b.node(OpKind::relu, {b.node(OpKind::gemm, {h, b.constant({5, 6}), b.constant({5})}, gemm)});
  b.node(OpKind::softmax, {h});
  check_executor(b.g, {3, 11, 9});
}

TEST_CASE("executor matches the reference: a MobileNet-style channels-last chain with a residual", "[infer]") {
  Builder b;
  const int x = b.input({kBatch, 3, 16, 16});
  int h = b.node(OpKind::relu, {b.batch_norm(b.conv(x, 3, 16, 3, conv_attributes(2, {1, 1, 1, 1}), false), 16)});  // stem
  for (int stride : {1, 2}) {
    h = b.clip(b.batch_norm(b.conv(h, 16, 16, 3, conv_attributes(stride, {1, 1, 1, 1}, 16), false), 16), 0.0f, 6.0f);
    h = b.node(OpKind::relu, {b.batch_norm(b.conv(h, 16, 16, 1, {}, false), 16)});
  }
  const int skip = h;
  h = b.batch_norm(b.conv(h, 16, 16, 3, conv_attributes(1, {1, 1, 1, 1}, 16), false), 16);
  h = b.node(OpKind::relu, {b.node(OpKind::add, {h, skip})});               // same-shape add, NHWC
  h = b.node(OpKind::add, {h, b.constant({16, 1, 1})});                      // broadcast add, NCHW
  h = b.node(OpKind::add, {b.constant({1, 16, 4, 4}), h});                   // a constant first, same shape at batch 1
  h = b.node(OpKind::add, {skip, h});                                        // NHWC + NCHW: h converted to NHWC
  h = b.node(OpKind::flatten, {b.node(OpKind::global_average_pool, {h})});
  h = b.node(OpKind::gemm, {h, b.constant({16, 10})});
  check_executor(b.g, {3, 16, 16});

  infer::Executor executor(b.g);
  const Tensor y = executor.run(random_tensor({2, 3, 16, 16}, b.rng));
  const std::string summary = executor.summary();
  INFO(summary);
  CHECK(summary.find("stem NCHW→NHWC") != std::string::npos);
  CHECK(summary.find("depthwise NHWC") != std::string::npos);
  CHECK(summary.find("1×1 GEMM NHWC") != std::string::npos);
  CHECK(summary.find("to NCHW: ") != std::string::npos);
  CHECK(summary.find("to NHWC: ") != std::string::npos);
}

TEST_CASE("executor matches the reference: gemm transposes, matmul, broadcasting, reshape", "[infer]") {
  Builder b;
  const int x = b.input({kBatch, 4, 3});
  Attributes columns;
  columns.shape = {3, -1};
  int h = b.node(OpKind::reshape, {x}, columns);                             // A [3, 4N]
  Attributes trans_a;
  trans_a.trans_a = true;
  trans_a.alpha = 1.5f;
  trans_a.beta = 2.0f;
  h = b.node(OpKind::gemm, {h, b.constant({3, 5}), b.constant({1, 5})}, trans_a);  // Aᵀ·B: [4N, 5]
  h = b.node(OpKind::identity, {b.node(OpKind::matmul, {h, b.constant({5, 6})})});  // [4N, 6]
  Attributes flat0;
  flat0.axis = 0;
  h = b.node(OpKind::flatten, {h}, flat0);                                   // [1, 24N]
  Attributes rows;
  rows.shape = {-1, 6};
  h = b.node(OpKind::reshape, {h}, rows);                                    // [4N, 6]
  Attributes trans_b;
  trans_b.trans_b = true;
  h = b.node(OpKind::gemm, {h, b.constant({6, 6}), b.constant({6})}, trans_b);
  h = b.node(OpKind::add, {h, b.constant({6})});
  Attributes last;
  last.axis = -1;
  b.clip(b.node(OpKind::softmax, {h}, last), 0.1f, 0.4f);
  check_executor(b.g, {4, 3});
}

TEST_CASE("the passes fold BatchNorm and fuse activations; arenas are reused", "[infer]") {
  Builder b;
  int h = b.input({kBatch, 8, 12, 12});
  double activation_bytes = 0.0;
  for (int layer = 0; layer < 10; ++layer) {
    h = b.conv(h, 8, 8, 3, conv_attributes(1, {1, 1, 1, 1}));
    h = b.batch_norm(h, 8);
    h = layer % 2 ? b.node(OpKind::relu, {h}) : b.clip(h, 0.0f, 6.0f);
    activation_bytes += 4.0 * 8 * 12 * 12;
  }
  REQUIRE(b.g.nodes.size() == 30);
  infer::Executor executor(b.g);
  CHECK(executor.graph().nodes.size() == 10);
  for (const infer::Node& n : executor.graph().nodes) {
    CHECK(n.op == OpKind::conv);
    CHECK(n.attributes.activation != infer::Activation::none);
  }
  Graph copy = b.g;
  CHECK(infer::fold_batch_norm(copy) == 10);
  CHECK(infer::fuse_activations(copy) == 10);
  executor.run(random_tensor({1, 8, 12, 12}, b.rng));
  // Two arenas for a chain, each one activation.
  CHECK(executor.arena_bytes() == 2 * 4 * 8 * 12 * 12);
  CHECK(executor.arena_bytes() < activation_bytes);
  check_executor(b.g, {8, 12, 12});

  // A BN whose conv output is also read elsewhere stays a node and still runs.
  Builder shared;
  const int x = shared.input({kBatch, 4, 6, 6});
  const int c = shared.conv(x, 4, 4, 3, conv_attributes(1, {1, 1, 1, 1}));
  shared.node(OpKind::add, {shared.batch_norm(c, 4), c});
  infer::Graph folded = shared.g;
  CHECK(infer::fold_batch_norm(folded) == 0);
  check_executor(shared.g, {4, 6, 6});
}

TEST_CASE("executor refuses inputs that do not fit", "[infer]") {
  Builder b;
  b.conv(b.input({kBatch, 3, 8, 8}), 3, 4, 3);
  infer::Executor executor(b.g);
  CHECK_THROWS_WITH(executor.run(Tensor::zeros({1, 3, 8, 9})), Catch::Contains("does not fit the graph input 'input'"));
  CHECK_THROWS_WITH(infer::run_reference(b.g, Tensor::zeros({3, 8, 8})), Catch::Contains("does not fit"));
}

namespace {

// Trained-looking BN statistics, so that folding has something to fold.
void randomize_batch_norm(nn::Module& model, Rng& rng) {
  for (auto& [name, t] : model.state_dict()) {
    const bool var = name.find("running_var") != std::string::npos, mean = name.find("running_mean") != std::string::npos;
    if (!var && !mean) continue;
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = var ? rng.uniform(0.5f, 2.0f) : rng.uniform(-0.3f, 0.3f);
  }
  for (auto& [name, t] : model.named_parameters())
    if (name.find("weight") != std::string::npos && t.ndim() == 1)
      for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(0.5f, 1.5f);
}

void check_lowered(models::ModelSpec spec, int64_t batch) {
  Rng rng(3);
  const models::ModelSpec resolved = models::resolve_spec(spec);
  auto model = models::build_model(resolved, rng);
  randomize_batch_norm(*model, rng);
  model->eval();
  const Tensor x = random_tensor(models::input_shape(resolved, batch), rng);
  Tensor want;
  {
    NoGradGuard no_grad;
    want = model->forward(x);
  }
  const infer::Graph g = models::inference_graph(*model, resolved, data::kMnistMean, data::kMnistStd);
  CHECK(g.values[g.input].name == "input");
  CHECK(g.values[g.output].name == "logits");
  CHECK(g.metadata.at("sepnet.model") == resolved.name);
  CHECK(!g.metadata.at("sepnet.input_mean").empty());
  infer::Executor executor(g);
  INFO(models::spec_label(resolved) << "\n" << executor.summary());
  check_close(executor.run(x), want);
  check_close(infer::run_reference(g, x), want);
}

}  // namespace

TEST_CASE("lowered models match their autograd eval forward", "[infer]") {
  models::ModelSpec cnn;
  cnn.name = "cnn";
  check_lowered(cnn, 3);
  models::ModelSpec dwsep;
  dwsep.name = "dwsep";
  check_lowered(dwsep, 2);
  models::ModelSpec mobilenet;
  mobilenet.name = "mobilenet";
  mobilenet.width = 0.25f;
  mobilenet.image_size = 32;
  mobilenet.num_classes = 10;
  check_lowered(mobilenet, 2);
  mobilenet.channels_last = false;
  check_lowered(mobilenet, 1);
}
