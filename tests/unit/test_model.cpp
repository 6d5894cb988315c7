// The autoencoder's structure: layer shapes, parameter names and counts of the
// reference, and the ConvLSTM cell against a hand-computed step.
#include <gtest/gtest.h>

#include <set>

#include "model/autoencoder.h"
#include "train/precision.h"

using namespace cdae::model;

TEST(Model, SeedPresetHasTheReferenceParameterCountAndNames) {
  SpatioTemporalAutoencoder m(make_preset("seed", 1, 21, 101, 101, 0.5));
  EXPECT_EQ(parameter_count(*m), 7675203);
  std::map<std::string, std::vector<int64_t>> expected = {
      {"spatial_encoder.0.weight", {1}},
      {"spatial_encoder.0.bias", {1}},
      {"spatial_encoder.0.running_mean", {1}},
      {"spatial_encoder.0.running_var", {1}},
      {"spatial_encoder.0.num_batches_tracked", {}},
      {"spatial_encoder.1.weight", {128, 1, 1, 13, 13}},
      {"spatial_encoder.1.bias", {128}},
      {"spatial_encoder.4.weight", {64, 128, 5, 5, 5}},
      {"spatial_encoder.4.bias", {64}},
      {"spatial_encoder.6.weight", {64, 64, 5, 11, 11}},
      {"spatial_encoder.6.bias", {64}},
      {"temporal_encoder_decoder.convlstm_1.cell_list.0.conv.weight", {256, 128, 3, 3}},
      {"temporal_encoder_decoder.convlstm_1.cell_list.0.conv.bias", {256}},
      {"temporal_encoder_decoder.convlstm_2.cell_list.0.conv.weight", {128, 96, 3, 3}},
      {"temporal_encoder_decoder.convlstm_2.cell_list.0.conv.bias", {128}},
      {"temporal_encoder_decoder.convlstm_3.cell_list.0.conv.weight", {256, 96, 3, 3}},
      {"temporal_encoder_decoder.convlstm_3.cell_list.0.conv.bias", {256}},
      {"spatial_decoder.0.weight", {64, 64, 5, 11, 11}},
      {"spatial_decoder.0.bias", {64}},
      {"spatial_decoder.2.weight", {64, 128, 5, 5, 5}},
      {"spatial_decoder.2.bias", {128}},
      {"spatial_decoder.4.weight", {128, 1, 1, 13, 13}},
      {"spatial_decoder.4.bias", {1}},
  };
  const auto entries = state_dict(*m);
  EXPECT_EQ(entries.size(), expected.size());
  for (const auto& [name, tensor] : entries) {
    ASSERT_TRUE(expected.count(name)) << "unexpected state_dict entry " << name;
    EXPECT_EQ(tensor.sizes().vec(), expected[name]) << name;
  }
}

TEST(Model, SeedPresetLayerShapes) {
  const auto arch = make_preset("seed", 1, 21, 101, 101, 0.5);
  SpatioTemporalAutoencoder m(arch);
  m->eval();
  torch::NoGradGuard no_grad;
  auto x = torch::rand({1, 1, 21, 101, 101});
  torch::Tensor h;
  // Walk the layers explicitly through the Sequential's AnyModules.
  h = x;
  std::vector<std::vector<int64_t>> shapes;
  for (auto& layer : *m->spatial_encoder) {
    h = layer.forward(h);
    shapes.push_back(h.sizes().vec());
  }
  EXPECT_EQ(shapes[1], (std::vector<int64_t>{1, 128, 21, 45, 45}));
  EXPECT_EQ(shapes[4], (std::vector<int64_t>{1, 64, 6, 21, 21}));
  EXPECT_EQ(shapes[6], (std::vector<int64_t>{1, 64, 1, 6, 6}));
  auto [temporal, latent] = m->temporal_encoder_decoder->forward(h.permute({0, 2, 1, 3, 4}));
  EXPECT_EQ(latent.sizes().vec(), (std::vector<int64_t>{1, 1, 32, 6, 6}));
  EXPECT_EQ(temporal.sizes().vec(), (std::vector<int64_t>{1, 1, 64, 6, 6}));
  h = temporal.permute({0, 2, 1, 3, 4});
  shapes.clear();
  for (auto& layer : *m->spatial_decoder) {
    h = layer.forward(h);
    shapes.push_back(h.sizes().vec());
  }
  EXPECT_EQ(shapes[0], (std::vector<int64_t>{1, 64, 5, 21, 21}));
  EXPECT_EQ(shapes[2], (std::vector<int64_t>{1, 128, 21, 45, 45}));
  EXPECT_EQ(shapes[4], (std::vector<int64_t>{1, 1, 21, 101, 101}));
  const auto out = m->forward(x);
  EXPECT_EQ(out.reconstruction.sizes(), x.sizes());
  EXPECT_EQ(out.latent.sizes().vec(), (std::vector<int64_t>{1, 1152}));
  EXPECT_EQ(arch.latent_size(), 1152);
  EXPECT_GE(out.reconstruction.min().item<float>(), 0.0f);  // final ReLU
}

TEST(Model, ForwardMacsOfTheSeedPresetMatchTheReferenceEstimate) {
  // SEED-MODEL.md: about 7.0 GMAC per sample.
  const double macs = make_preset("seed", 1, 21, 101, 101, 0.5).forward_macs_per_sample();
  EXPECT_NEAR(macs / 1e9, 7.0, 0.35);
}

TEST(ConvLSTM, CellMatchesAHandComputedStep) {
  torch::manual_seed(3);
  ConvLSTMCell cell(2, 3);
  auto x = torch::randn({1, 2, 4, 4});
  auto h = torch::randn({1, 3, 4, 4});
  auto c = torch::randn({1, 3, 4, 4});
  auto [h1, c1] = cell->forward(x, h, c);
  // By hand: conv of cat, gates in order i, f, o, g.
  auto z = torch::conv2d(torch::cat({x, h}, 1), cell->conv->weight, cell->conv->bias, 1, 1);
  auto i = torch::sigmoid(z.narrow(1, 0, 3)), f = torch::sigmoid(z.narrow(1, 3, 3));
  auto o = torch::sigmoid(z.narrow(1, 6, 3)), g = torch::tanh(z.narrow(1, 9, 3));
  auto c_expected = f * c + i * g;
  auto h_expected = o * torch::tanh(c_expected);
  EXPECT_TRUE(torch::allclose(c1, c_expected, 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(h1, h_expected, 1e-6, 1e-6));
}

TEST(ConvLSTM, LayerStartsFromZeroStateAndChainsSteps) {
  torch::manual_seed(4);
  ConvLSTM layer(2, 3);
  auto x = torch::randn({2, 3, 2, 5, 5});  // N, T, C, H, W
  auto out = layer->forward(x);
  ASSERT_EQ(out.sizes().vec(), (std::vector<int64_t>{2, 3, 3, 5, 5}));
  auto h = torch::zeros({2, 3, 5, 5}), c = torch::zeros({2, 3, 5, 5});
  for (int t = 0; t < 3; ++t) {
    std::tie(h, c) = layer->cell->forward(x.select(1, t), h, c);
    EXPECT_TRUE(torch::allclose(out.select(1, t), h, 1e-6, 1e-6)) << "t=" << t;
  }
}

TEST(Model, SmallPresetRoundTripsItsFrameSize) {
  const auto arch = make_preset("small", 1, 21, 37, 37, 0.0);
  EXPECT_EQ(arch.size_problem(), "");
  SpatioTemporalAutoencoder m(arch);
  const auto out = m->forward(torch::rand({3, 1, 21, 37, 37}));
  EXPECT_EQ(out.reconstruction.sizes().vec(), (std::vector<int64_t>{3, 1, 21, 37, 37}));
  EXPECT_EQ(out.latent.size(1), arch.latent_size());
}

TEST(Model, ImpossibleSizesAreReported) {
  EXPECT_NE(make_preset("seed", 1, 21, 100, 100, 0.5).size_problem(), "");
  EXPECT_NE(make_preset("seed", 1, 20, 101, 101, 0.5).size_problem(), "");
  EXPECT_NE(make_preset("small", 1, 21, 10, 10, 0.5).size_problem(), "");
  EXPECT_THROW(make_preset("huge", 1, 21, 101, 101, 0.5), std::invalid_argument);
}

TEST(Model, CpuPresetHasLayerNormsInFrontOfEveryConvLSTMAndASigmoidOutput) {
  const auto arch = make_preset("cpu", 1, 21, 49, 49, 0.0);
  EXPECT_EQ(arch.size_problem(), "");
  EXPECT_EQ(arch.latent_size(), 16 * 1 * 4 * 4);
  SpatioTemporalAutoencoder m(arch);
  std::set<std::string> names;
  for (const auto& [name, tensor] : state_dict(*m)) names.insert(name);
  for (const char* norm : {"norm_1", "norm_2", "norm_3"}) {
    EXPECT_TRUE(names.count(std::string("temporal_encoder_decoder.") + norm + ".weight")) << norm;
    EXPECT_TRUE(names.count(std::string("temporal_encoder_decoder.") + norm + ".bias")) << norm;
  }
  // Frames far outside [0, 1] still give a reconstruction inside (0, 1) with a gradient everywhere.
  auto x = (torch::rand({2, 1, 21, 49, 49}) * 40.0 - 20.0);
  const auto out = m->forward(x);
  EXPECT_EQ(out.reconstruction.sizes().vec(), x.sizes().vec());
  EXPECT_GT(out.reconstruction.min().item<float>(), 0.0f);
  EXPECT_LT(out.reconstruction.max().item<float>(), 1.0f);
  out.reconstruction.mean().backward();
  for (const auto& p : m->parameters()) EXPECT_GT(p.grad().abs().sum().item<float>(), 0.0f);
}

TEST(Model, LayerNormsMakeTheLatentIndependentOfTheEncodersOutputScale) {
  // The small preset's latent collapsed because the encoder's output grew to
  // ~50 and saturated the ConvLSTM gates. With a layer norm in front, the
  // same features at any scale give the same latent.
  auto latent_change = [](bool layer_norms) {
    torch::manual_seed(0);
    TemporalEncoderDecoder temporal(8, std::array<int, 3>{8, 4, 8}, layer_norms);
    torch::NoGradGuard no_grad;
    const auto features = torch::relu(torch::randn({4, 1, 8, 2, 2}));  // (N, T, C, H, W), as after the encoder
    const auto before = temporal->forward(features).second;
    return (temporal->forward(50.0 * features).second - before).abs().max().item<double>();
  };
  const double with_norms = latent_change(true), without = latent_change(false);
  EXPECT_LT(with_norms, 1e-5);
  EXPECT_GT(without, 0.05);
}

TEST(Model, CpuBf16AutocastRunsTheLayerNormsAndStaysCloseToFp32) {
  // CPU autocast hands group_norm bf16 activations with float32 weights
  // (LibTorch 1.13 refused that and needed a cast; 2.x takes mixed dtypes).
  // The small preset has the layer norms (lstm_norm auto = layer).
  torch::manual_seed(0);
  SpatioTemporalAutoencoder m(make_preset("small", 1, 21, 37, 37, 0.0));
  const auto x = torch::rand({2, 1, 21, 37, 37});
  const auto fp32 = m->forward(x).reconstruction.detach();
  torch::Tensor bf16;
  {
    cdae::train::AutocastScope autocast("bf16", torch::kCPU);
    const auto out = m->forward(x);
    bf16 = out.reconstruction.to(torch::kFloat32);
    (bf16 - x).square().mean().backward();
  }
  EXPECT_LT((bf16.detach() - fp32).abs().max().item<float>(), 0.05f);
  for (const auto& p : m->parameters()) {
    ASSERT_TRUE(p.grad().defined());
    EXPECT_EQ(p.grad().scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
  }
}
