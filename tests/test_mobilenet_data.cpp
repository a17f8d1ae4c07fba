// MobileNet on any IDX image set: bilinear resizing against a plain reference and PyTorch's
// known values, per-set normalization, the full-convolution variant (the paper's counts), its
// metadata, and training, resuming and evaluating a resized MobileNet through the trainer.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <tuple>
#include <vector>

#include "quadrant_data.h"
#include "temp_dir.h"
#include "sepnet/core/checkpoint.h"
#include "sepnet/core/data/resize.h"
#include "sepnet/models/mobilenet_v1.h"
#include "sepnet/train/experiment.h"
#include "sepnet/train/mobilenet_sweep.h"

using namespace sepnet;
using sepnet::testing::TempDir;

namespace {
// PyTorch's bilinear (align_corners=False) written out per output pixel in double precision.
std::vector<double> reference_resize(const std::vector<uint8_t>& in, int ih, int iw, int oh, int ow) {
  std::vector<double> out(static_cast<size_t>(oh * ow));
  auto source = [](int o, int in_size, int out_size, int& lo, int& hi, double& w) {
    double s = (o + 0.5) * in_size / out_size - 0.5;
    if (s < 0) s = 0;
    lo = static_cast<int>(std::floor(s));
    if (lo > in_size - 1) lo = in_size - 1;
    hi = lo + 1 < in_size ? lo + 1 : in_size - 1;
    w = s - lo;
  };
  for (int y = 0; y < oh; ++y)
    for (int x = 0; x < ow; ++x) {
      int y0, y1, x0, x1;
      double wy, wx;
      source(y, ih, oh, y0, y1, wy);
      source(x, iw, ow, x0, x1, wx);
      auto at = [&](int r, int c) { return static_cast<double>(in[static_cast<size_t>(r * iw + c)]); };
      out[static_cast<size_t>(y * ow + x)] = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) +
                                             wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
    }
  return out;
}
}  // namespace

TEST_CASE("bilinear resize equals the reference: identity, 28→32, 28→64, downsampling, non-square", "[data][resize]") {
  Rng rng(5);
  for (auto [ih, iw, oh, ow] : std::vector<std::array<int, 4>>{{28, 28, 28, 28}, {28, 28, 32, 32}, {28, 28, 64, 64},
                                                               {28, 28, 20, 20}, {28, 28, 9, 9}, {5, 7, 3, 11}}) {
    INFO(ih << "x" << iw << " -> " << oh << "x" << ow);
    std::vector<uint8_t> in(static_cast<size_t>(ih * iw));
    for (auto& p : in) p = static_cast<uint8_t>(rng.uniform(0, 256));
    const data::BilinearResize resize(ih, iw, oh, ow);
    std::vector<float> out(static_cast<size_t>(oh * ow));
    resize.apply(in.data(), out.data(), 1.0f, 0.0f);
    const auto ref = reference_resize(in, ih, iw, oh, ow);
    for (size_t k = 0; k < out.size(); ++k) REQUIRE(out[k] == Approx(ref[k]).margin(1e-3));
    if (ih == oh && iw == ow)
      for (size_t k = 0; k < out.size(); ++k) REQUIRE(out[k] == static_cast<float>(in[k]));
  }
  // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=4, mode="bilinear")
  const std::vector<float> torch_4x4{0, 0.25f, 0.75f, 1, 0.5f, 0.75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f, 2, 2.25f, 2.75f, 3};
  std::vector<float> out(16);
  data::BilinearResize(2, 2, 4, 4).apply(std::vector<uint8_t>{0, 1, 2, 3}.data(), out.data(), 1.0f, 0.0f);
  for (size_t k = 0; k < 16; ++k) CHECK(out[k] == Approx(torch_4x4[k]));
  CHECK_THROWS_AS(data::BilinearResize(0, 28, 32, 32), std::invalid_argument);
}

TEST_CASE("a data set resizes and normalizes when a batch is gathered", "[data][resize]") {
  auto d = sepnet::testing::quadrants(8, 2);
  d.mean = 0.25f;
  d.stddev = 0.5f;
  d.resize_to(32);
  CHECK(d.sample_shape() == Shape{1, 32, 32});
  CHECK(d.image_elements() == 784);  // storage stays the file's bytes
  data::BatchSampler sampler(d.size(), 4, 1, /*shuffle=*/false);
  Tensor x;
  std::vector<int32_t> labels;
  sampler.gather(1, d, x, labels);
  REQUIRE(x.shape() == Shape{4, 1, 32, 32});
  std::vector<uint8_t> img(d.pixels.begin() + 4 * 784, d.pixels.begin() + 5 * 784);
  const auto ref = reference_resize(img, 28, 28, 32, 32);
  for (int k = 0; k < 1024; ++k) REQUIRE(x.data()[k] == Approx((ref[static_cast<size_t>(k)] / 255.0 - 0.25) / 0.5).margin(1e-4));
  d.resize_to(28);
  CHECK(d.sample_shape() == Shape{1, 28, 28});

  // Statistics over all pixels, rounded to the published constants' 4 decimals.
  const auto [mean, stddev] = data::pixel_statistics({0, 255, 0, 255});
  CHECK(mean == Approx(0.5f));
  CHECK(stddev == Approx(0.5f));
  CHECK(data::pixel_statistics({7, 7, 7}).second == 1.0f);  // a blank set does not divide by 0
}

TEST_CASE("full-convolution MobileNet: the paper's Table 4 counts, PyTorch names, refused for other models",
          "[models][mobilenet]") {
  Rng rng(1);
  const auto separable = models::build_model({.name = "mobilenet"}, rng);
  models::ModelSpec full_spec{.name = "mobilenet"};
  full_spec.conv = "full";
  const auto full = models::build_model(full_spec, rng);
  // Paper, Table 4: Conv MobileNet 4866 M mult-adds, 29.3 M parameters; MobileNet 569 M, 4.2 M.
  CHECK(full->macs({1, 3, 224, 224}) == Approx(4866e6).epsilon(0.005));
  CHECK(full->parameter_count() == Approx(29.3e6).epsilon(0.005));
  CHECK(separable->macs({1, 3, 224, 224}) == Approx(569e6).epsilon(0.01));
  CHECK(separable->parameter_count() == Approx(4.2e6).epsilon(0.01));
  // Blocks are features.3 (conv 32→64), .4 (its BN), .5 (ReLU), then every 3 indices.
  const auto sd = full->state_dict();
  auto shape_of = [&](const std::string& name) {
    for (const auto& [n, t] : sd)
      if (n == name) return t.shape();
    FAIL("no " << name);
    return Shape{};
  };
  CHECK(shape_of("features.0.weight") == Shape{32, 3, 3, 3});
  CHECK(shape_of("features.3.weight") == Shape{64, 32, 3, 3});
  CHECK(shape_of("features.4.running_var") == Shape{64});
  CHECK(shape_of("features.39.weight") == Shape{1024, 1024, 3, 3});
  CHECK(shape_of("classifier.0.weight") == Shape{1000, 1024});

  models::ModelSpec cnn{.name = "cnn"};
  cnn.conv = "full";
  CHECK_THROWS_WITH(models::resolve_spec(cnn), Catch::Contains("no full-convolution variant"));
  cnn.conv = "grouped";
  CHECK_THROWS_WITH(models::resolve_spec(cnn), Catch::Contains("'separable' or 'full'"));

  // Metadata round trip with every field a data set sets; an unknown conv kind names the file.
  models::ModelSpec s{.name = "mobilenet", .width = 0.5f, .image_size = 48, .in_channels = 1, .num_classes = 10};
  s.conv = "full";
  const Metadata m = models::spec_metadata(models::resolve_spec(s));
  const models::ModelSpec back = models::spec_from_metadata("run/model.safetensors", m);
  CHECK(back.conv == "full");
  CHECK(back.image_size == 48);
  CHECK(back.in_channels == 1);
  CHECK(back.num_classes == 10);
  CHECK(back.width == 0.5f);
  Metadata bad = m;
  bad["conv"] = "fulll";
  CHECK_THROWS_WITH(models::spec_from_metadata("run/model.safetensors", bad),
                    Catch::Contains("run/model.safetensors") && Catch::Contains("'conv'"));
  bad.erase("conv");  // checkpoints from before the variant hold the separable network
  CHECK(models::spec_from_metadata("f", bad).conv == "separable");
}

TEST_CASE("cosine learning-rate schedule", "[train]") {
  train::RunConfig c;
  c.lr = 0.01f;
  c.epochs = 4;
  CHECK(train::learning_rate_for_epoch(c, 3) == 0.01f);  // constant by default
  c.lr_schedule = "cosine";
  CHECK(train::learning_rate_for_epoch(c, 1) == Approx(0.01));
  CHECK(train::learning_rate_for_epoch(c, 3) == Approx(0.005));
  CHECK(train::learning_rate_for_epoch(c, 4) == Approx(0.01 * (1 + std::cos(3.14159265358979 * 3 / 4)) / 2));
  c.lr_schedule = "step";
  CHECK_THROWS_WITH(train::validate_config(c), Catch::Contains("--lr-schedule"));
}

TEST_CASE("a resized MobileNet trains, resumes and evaluates from its checkpoint", "[train][mobilenet]") {
  TempDir dir;
  auto train_data = sepnet::testing::quadrants(192, 3);
  auto test_data = sepnet::testing::quadrants(64, 4);
  train_data.mean = 0.3f;  // a set's own normalization, recorded in the checkpoint
  train_data.stddev = 0.4f;
  train::RunConfig c;
  c.optimizer = "adam";
  c.lr = 0.005f;
  c.lr_schedule = "cosine";
  c.loss = "ce";
  c.batch = 32;
  c.epochs = 2;
  c.model = {.name = "mobilenet", .width = 0.25f, .image_size = 32};
  CHECK_THROWS_WITH(train::run_training(c, train_data, test_data), Catch::Contains("images are 1×28×28"));
  train_data.resize_to(32);
  test_data.resize_to(32);
  CHECK_THROWS_WITH(train::run_training(c, train_data, test_data), Catch::Contains("not the training set's"));
  train::fit_data_to_model(c.model, train_data, test_data);
  CHECK(test_data.sample_shape() == Shape{1, 32, 32});
  c.out_dir = (dir.path / "full").string();
  const auto full = train::run_training(c, train_data, test_data);
  CHECK(full.epochs[1].train.train_loss < full.epochs[0].train.train_loss);  // it learns
  c.epochs = 1;
  c.out_dir = (dir.path / "part").string();
  train::run_training(c, train_data, test_data);
  c.epochs = 2;
  c.resume = c.out_dir;
  const auto resumed = train::run_training(c, train_data, test_data);
  CHECK(resumed.epochs.back().train.train_loss == full.epochs.back().train.train_loss);
  CHECK(resumed.final_test_accuracy() == full.final_test_accuracy());

  // What `sepnet eval` does: rebuild from metadata, normalize and resize as recorded.
  const std::string path = (dir.path / "full" / "model.safetensors").string();
  const Metadata meta = read_metadata(path);
  CHECK(meta.at("image_size") == "32");
  CHECK(meta.at("in_channels") == "1");
  CHECK(meta.at("lr_schedule") == "cosine");
  auto model = train::model_from_metadata(path, meta);
  load_model(path, *model);
  auto eval_data = sepnet::testing::quadrants(64, 4);
  std::tie(eval_data.mean, eval_data.stddev) = train::normalization_from_metadata(path, meta);
  CHECK(eval_data.mean == 0.3f);
  CHECK(eval_data.stddev == 0.4f);
  eval_data.resize_to(models::spec_from_metadata(path, meta).image_size);
  CHECK(train::evaluate(*model, eval_data).accuracy == full.final_test_accuracy());

  // The full-conv variant trains on the same data; its run is told apart from the separable one.
  c.resume.clear();
  c.epochs = 1;
  c.model.conv = "full";
  c.out_dir = (dir.path / "conv").string();
  const auto conv = train::run_training(c, train_data, test_data);
  CHECK(conv.parameters > full.parameters);
  c.out_dir = (dir.path / "part").string();
  c.epochs = 2;
  c.model = models::resolve_spec({.name = "mobilenet", .width = 0.25f, .image_size = 32, .in_channels = 1, .num_classes = 10});
  c.model.conv = "full";
  CHECK_FALSE(train::load_finished_run(c, train_data.size()).has_value());
  c.model.conv = "separable";
  CHECK(train::load_finished_run(c, train_data.size()).has_value());
}

TEST_CASE("the sweep's cells, tables and chart", "[train][sweep]") {
  train::SweepConfig config;
  const auto cells = train::sweep_cells(config);
  // α 1 separable is shared by the conv and width studies, α 0.5 at 32 px by width and size.
  CHECK(cells.size() == 7);
  std::vector<train::SweepRow> rows;
  for (const auto& cell : cells) {
    train::RunResult r;
    r.parameters = 1000;
    r.macs_per_image = static_cast<int64_t>(1e6 * cell.width * cell.image_size);
    r.epochs.push_back({1, {0.5, 90, 10, 100}, 80.0 + cell.width, 0.5});
    rows.push_back(train::summarize_cell(cell, {r, r}));
  }
  CHECK(rows[0].mean_accuracy == Approx(81.0));
  CHECK(rows[0].std_accuracy == 0.0);
  const std::string md = train::sweep_tables_markdown(config, rows, "recipe");
  CHECK_THAT(md, Catch::Contains("| Conv MobileNet (full 3×3) | 81.00 ± 0.00 | 32.0 |"));
  CHECK_THAT(md, Catch::Contains("| 0.25 MobileNet-32 | 80.25 ± 0.00 | 8.0 |"));
  const std::string svg = render_scatter_svg(train::sweep_chart(config, rows, "fashion-mnist"));
  CHECK_THAT(svg, Catch::Contains("<circle") && Catch::Contains("full conv") && Catch::Contains("10M"));
  // α 0.5 at 32 px is one point of both the width and the size study: one shared label.
  CHECK_THAT(svg, Catch::Contains("α 0.5 · 32 px"));
  // Each seed is drawn: two runs per cell, 3 + 4 + 1 points in the chart's groups.
  size_t rings = 0;
  for (size_t at = svg.find("r=\"2.5\""); at != std::string::npos; at = svg.find("r=\"2.5\"", at + 1)) ++rings;
  CHECK(rings == 2 * (4 + 3 + 1));
  rows.pop_back();
  CHECK_THROWS_WITH(train::sweep_tables_markdown(config, rows, ""), Catch::Contains("a0.5-s64-separable"));
}

TEST_CASE("scatter labels beside clustered points never overlap", "[sweep][plot]") {
  // Twelve points within a few pixels of each other, labels of varied width.
  std::vector<std::pair<double, double>> anchors;
  std::vector<double> widths;
  for (int i = 0; i < 12; ++i) {
    anchors.push_back({300.0 + 3 * (i % 4), 200.0 + 2 * (i / 4)});
    widths.push_back(30.0 + 7 * i);
  }
  std::vector<PointLabelBox> boxes;
  const auto origins = place_point_labels(anchors, widths, &boxes);
  REQUIRE(origins.size() == anchors.size());
  REQUIRE(boxes.size() == anchors.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    CHECK(boxes[i].x1 - boxes[i].x0 == Approx(widths[i]));
    for (size_t j = 0; j < i; ++j) {
      const bool apart = boxes[i].x1 <= boxes[j].x0 || boxes[j].x1 <= boxes[i].x0 || boxes[i].y1 <= boxes[j].y0 ||
                         boxes[j].y1 <= boxes[i].y0;
      CHECK(apart);
    }
  }
  // A lone point keeps the default place: right of and above it.
  const auto lone = place_point_labels({{100.0, 100.0}}, {40.0});
  CHECK(lone[0].first > 100.0);
  CHECK(lone[0].second < 100.0);
}
