// The dense and convolutional autoencoder families (and their VAEs): shapes
// forward and backward, odd image sizes, the VAE's sampling, descriptions,
// multiply-accumulate counts and the parameter names checkpoints rely on.
#include <gtest/gtest.h>

#include <functional>

#include "model/conv_autoencoder.h"
#include "model/dense_autoencoder.h"

using namespace cdae::model;

namespace {

using Shapes = std::vector<std::pair<std::string, std::vector<std::int64_t>>>;

// Every parameter receives a finite gradient, non-zero somewhere, from the
// reconstruction and the latent alone (for a VAE, the log-variance head only
// through the sampled code).
void expect_gradients_everywhere(Autoencoder& model, const torch::Tensor& x) {
  model.train();
  model.zero_grad();
  const auto out = model.forward(x);
  (out.reconstruction.sum() + out.latent.sum()).backward();
  for (const auto& p : model.named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

// Parameter names and shapes in registration order (the checkpoint order).
Shapes parameter_shapes(Autoencoder& model) {
  Shapes out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value().sizes().vec());
  return out;
}

void expect_forward_shapes(Autoencoder& model, const torch::Tensor& x, std::int64_t latent, bool variational) {
  const auto out = model.forward(x);
  EXPECT_EQ(out.reconstruction.sizes(), x.sizes());
  EXPECT_EQ(out.latent.sizes(), (std::vector<std::int64_t>{x.size(0), latent}));
  EXPECT_EQ(out.log_variance.defined(), variational);
  if (variational) {
    EXPECT_EQ(out.log_variance.sizes(), out.latent.sizes());
  }
}

}  // namespace

TEST(Families, DenseSimpleOnVectors) {
  torch::manual_seed(0);
  DenseAutoencoderImpl simple({{12}, {16}, 4, false, "linear"});
  const auto x = torch::rand({5, 12});
  expect_forward_shapes(simple, x, 4, false);
  EXPECT_EQ(simple.sample_shape(), (std::vector<std::int64_t>{12}));
  EXPECT_EQ(simple.latent_size(), 4);
  EXPECT_EQ(parameter_shapes(simple), (Shapes{{"encoder.0.weight", {16, 12}},
                                             {"encoder.0.bias", {16}},
                                             {"to_mean.weight", {4, 16}},
                                             {"to_mean.bias", {4}},
                                             {"decoder.0.weight", {16, 4}},
                                             {"decoder.0.bias", {16}},
                                             {"decoder.2.weight", {12, 16}},
                                             {"decoder.2.bias", {12}}}));
  EXPECT_DOUBLE_EQ(simple.forward_macs_per_sample(), 12 * 16 + 16 * 4 + 4 * 16 + 16 * 12);
  expect_gradients_everywhere(simple, x);
}

TEST(Families, DenseDeepVaeOnImages) {
  torch::manual_seed(0);
  DenseAutoencoderImpl deep({{1, 28, 28}, {64, 32, 16}, 8, true, "sigmoid"});
  const auto images = torch::rand({3, 1, 28, 28});
  expect_forward_shapes(deep, images, 8, true);
  const auto r = deep.forward(images).reconstruction;
  EXPECT_GE(r.min().item<float>(), 0.0f);  // sigmoid
  EXPECT_LE(r.max().item<float>(), 1.0f);
  EXPECT_EQ(parameter_shapes(deep), (Shapes{{"encoder.0.weight", {64, 784}},
                                           {"encoder.0.bias", {64}},
                                           {"encoder.2.weight", {32, 64}},
                                           {"encoder.2.bias", {32}},
                                           {"encoder.4.weight", {16, 32}},
                                           {"encoder.4.bias", {16}},
                                           {"to_mean.weight", {8, 16}},
                                           {"to_mean.bias", {8}},
                                           {"to_log_variance.weight", {8, 16}},
                                           {"to_log_variance.bias", {8}},
                                           {"decoder.0.weight", {16, 8}},
                                           {"decoder.0.bias", {16}},
                                           {"decoder.2.weight", {32, 16}},
                                           {"decoder.2.bias", {32}},
                                           {"decoder.4.weight", {64, 32}},
                                           {"decoder.4.bias", {64}},
                                           {"decoder.6.weight", {784, 64}},
                                           {"decoder.6.bias", {784}}}));
  // Both heads count; the decoder mirrors the encoder.
  EXPECT_DOUBLE_EQ(deep.forward_macs_per_sample(),
                   784 * 64 + 64 * 32 + 32 * 16 + 2 * 16 * 8 + 8 * 16 + 16 * 32 + 32 * 64 + 64 * 784);
  EXPECT_EQ(deep.describe(), nlohmann::json::parse(R"({"family": "dense", "sample_shape": [1, 28, 28],
      "hidden": [64, 32, 16], "latent": 8, "variational": true, "output": "sigmoid"})"));
  expect_gradients_everywhere(deep, images);
}

TEST(Families, DenseOutputActivationsAndRefusals) {
  torch::manual_seed(0);
  const auto x = torch::randn({64, 6}) * 3;
  DenseAutoencoderImpl relu({{6}, {8}, 2, false, "relu"});
  EXPECT_GE(relu.forward(x).reconstruction.min().item<float>(), 0.0f);
  DenseAutoencoderImpl linear({{6}, {8}, 2, false, "linear"});
  const auto r = linear.forward(x).reconstruction;
  EXPECT_LT(r.min().item<float>(), 0.0f);  // neither sigmoid nor relu
  EXPECT_THROW(DenseAutoencoderImpl({{6}, {8}, 2, false, "tanh"}), std::invalid_argument);
  EXPECT_THROW(DenseAutoencoderImpl({{6}, {}, 2, false, "linear"}), std::invalid_argument);
  EXPECT_THROW(DenseAutoencoderImpl({{6}, {8, 0}, 2, false, "linear"}), std::invalid_argument);
  EXPECT_THROW(DenseAutoencoderImpl({{6, 0}, {8}, 2, false, "linear"}), std::invalid_argument);
}

TEST(Families, ConvRestoresEvenAndOddSizesExactly) {
  torch::manual_seed(0);
  for (const auto& shape : {std::vector<std::int64_t>{1, 28, 28}, std::vector<std::int64_t>{2, 29, 31},
                            std::vector<std::int64_t>{1, 5, 6}}) {
    ConvAutoencoderImpl conv({shape, {4, 8}, 6, false, "sigmoid"});
    const auto x = torch::rand({2, shape[0], shape[1], shape[2]});
    SCOPED_TRACE(std::to_string(shape[1]) + "x" + std::to_string(shape[2]));
    expect_forward_shapes(conv, x, 6, false);
    EXPECT_EQ(conv.sample_shape(), shape);
    expect_gradients_everywhere(conv, x);
  }
}

TEST(Families, ConvRefusesShapesItCannotPool) {
  // 3 -> 1 -> below one pixel at the second stage.
  try {
    ConvAutoencoderImpl({{1, 3, 3}, {4, 8}, 6, false, "sigmoid"});
    FAIL() << "a 3x3 image through two pooling stages was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("3x3"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(ConvAutoencoderImpl({{1, 3, 3}, {4}, 6, false, "sigmoid"}));
  EXPECT_THROW(ConvAutoencoderImpl({{12}, {4}, 6, false, "sigmoid"}), std::invalid_argument);             // a vector
  EXPECT_THROW(ConvAutoencoderImpl({{1, 1, 8, 8}, {4}, 6, false, "sigmoid"}), std::invalid_argument);     // a sequence
  EXPECT_THROW(ConvAutoencoderImpl({{0, 8, 8}, {4}, 6, false, "sigmoid"}), std::invalid_argument);        // no channel
  EXPECT_THROW(ConvAutoencoderImpl({{1, 8, 8}, {}, 6, false, "sigmoid"}), std::invalid_argument);         // no stage
}

TEST(Families, ConvVaeParameterNamesDescriptionAndMacs) {
  torch::manual_seed(0);
  ConvAutoencoderImpl conv({{1, 28, 28}, {4, 8}, 6, true, "sigmoid"});
  EXPECT_EQ(parameter_shapes(conv), (Shapes{{"encoder.0.weight", {4, 1, 5, 5}},
                                           {"encoder.0.bias", {4}},
                                           {"encoder.3.weight", {8, 4, 5, 5}},
                                           {"encoder.3.bias", {8}},
                                           {"to_mean.weight", {6, 392}},
                                           {"to_mean.bias", {6}},
                                           {"to_log_variance.weight", {6, 392}},
                                           {"to_log_variance.bias", {6}},
                                           {"from_code.weight", {392, 6}},
                                           {"from_code.bias", {392}},
                                           {"decoder.0.weight", {8, 4, 4, 4}},
                                           {"decoder.0.bias", {4}},
                                           {"decoder.2.weight", {4, 1, 4, 4}},
                                           {"decoder.2.bias", {1}}}));
  EXPECT_EQ(conv.describe(), nlohmann::json::parse(R"({"family": "conv", "sample_shape": [1, 28, 28],
      "channels": [4, 8], "latent": 6, "variational": true, "output": "sigmoid"})"));
  const double encoder = 28 * 28 * 1 * 4 * 25 + 14 * 14 * 4 * 8 * 25;
  const double code = 392 * 6 * 2 + 6 * 392;
  const double decoder = 7 * 7 * 8 * 4 * 16 + 14 * 14 * 4 * 1 * 16;  // input pixels x kernel x channels
  EXPECT_DOUBLE_EQ(conv.forward_macs_per_sample(), encoder + code + decoder);
  expect_forward_shapes(conv, torch::rand({3, 1, 28, 28}), 6, true);
}

TEST(Families, SampleCodeIsTheReparameterisation) {
  const auto mean = torch::tensor({{0.5, -1.0}, {2.0, 0.0}}, torch::kFloat64);
  const auto lv = torch::tensor({{0.0, 1.0}, {-2.0, 0.4}}, torch::kFloat64);
  EXPECT_TRUE(sample_code(mean, lv, /*training=*/false).equal(mean));
  torch::manual_seed(3);
  const auto z = sample_code(mean, lv, /*training=*/true);
  torch::manual_seed(3);
  const auto eps = torch::randn_like(mean);
  EXPECT_TRUE(torch::allclose(z, mean + (0.5 * lv).exp() * eps, 1e-14, 1e-14));
  EXPECT_FALSE(torch::allclose(z, mean));
}

TEST(Families, VaeSamplesInTrainingAndDecodesTheMeanInEval) {
  torch::manual_seed(0);
  const auto x = torch::rand({4, 1, 12, 12});
  DenseAutoencoder dense(DenseOptions{{1, 12, 12}, {16}, 5, true, "sigmoid"});
  ConvAutoencoder conv(ConvOptions{{1, 12, 12}, {4}, 5, true, "sigmoid"});
  // What each family's decoder makes of a given code.
  const auto decode_dense = [&](const torch::Tensor& z) { return dense->decoder->forward(z).reshape(x.sizes()); };
  const auto decode_conv = [&](const torch::Tensor& z) {
    return conv->decoder->forward(torch::leaky_relu(conv->from_code->forward(z), 0.1).reshape({x.size(0), 4, 6, 6}));
  };
  const std::vector<std::pair<Autoencoder*, std::function<torch::Tensor(const torch::Tensor&)>>> families{
      {dense.get(), decode_dense}, {conv.get(), decode_conv}};
  for (const auto& [vae, decode] : families) {
    SCOPED_TRACE(vae->describe()["family"].get<std::string>());
    vae->train();
    const auto a = vae->forward(x), b = vae->forward(x);
    EXPECT_TRUE(torch::equal(a.latent, b.latent));                   // the mean is deterministic
    EXPECT_FALSE(torch::equal(a.reconstruction, b.reconstruction));  // the decoded code is sampled
    EXPECT_FALSE(torch::allclose(a.reconstruction, decode(a.latent)));
    vae->eval();
    const auto c = vae->forward(x);
    EXPECT_TRUE(torch::equal(c.reconstruction, vae->forward(x).reconstruction));
    EXPECT_TRUE(torch::equal(c.reconstruction, decode(c.latent)));
    EXPECT_TRUE(torch::equal(c.latent, a.latent));
    expect_gradients_everywhere(*vae, x);
  }
}
