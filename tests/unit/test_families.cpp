// The autoencoder families and their loss terms: shapes forward and backward,
// the VAE's sampling, descriptions, and every term against a hand computation.
#include <gtest/gtest.h>

#include <cmath>

#include "model/conv_autoencoder.h"
#include "model/dense_autoencoder.h"
#include "model/losses.h"
#include "model/recovery_losses.h"
#include "model/regularisers.h"

using namespace cdae::model;

namespace {

// Every parameter receives a finite gradient, non-zero somewhere.
void expect_gradients_everywhere(Autoencoder& model, const torch::Tensor& x) {
  model.train();
  const auto out = model.forward(x);
  auto loss = out.reconstruction.sum() + out.latent.sum();
  if (out.log_variance.defined()) loss = loss + out.log_variance.sum();
  loss.backward();
  for (const auto& p : model.named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key();
  }
}

std::vector<std::string> names(Autoencoder& model) {
  std::vector<std::string> out;
  for (const auto& p : model.named_parameters()) out.push_back(p.key());
  return out;
}

}  // namespace

TEST(Families, DenseSimpleAndDeepOnVectorsAndImages) {
  torch::manual_seed(0);
  DenseAutoencoderImpl simple({{12}, {16}, 4, false, "linear"});
  const auto x = torch::rand({5, 12});
  const auto out = simple.forward(x);
  EXPECT_EQ(out.reconstruction.sizes(), x.sizes());
  EXPECT_EQ(out.latent.sizes(), (std::vector<std::int64_t>{5, 4}));
  EXPECT_FALSE(out.log_variance.defined());
  EXPECT_EQ(names(simple), (std::vector<std::string>{"encoder.0.weight", "encoder.0.bias", "to_mean.weight",
                                                     "to_mean.bias", "decoder.0.weight", "decoder.0.bias",
                                                     "decoder.2.weight", "decoder.2.bias"}));
  expect_gradients_everywhere(simple, x);
  DenseAutoencoderImpl deep({{1, 28, 28}, {64, 32, 16}, 8, false, "sigmoid"});
  const auto images = torch::rand({3, 1, 28, 28});
  const auto r = deep.forward(images).reconstruction;
  EXPECT_EQ(r.sizes(), images.sizes());
  EXPECT_GE(r.min().item<float>(), 0.0f);  // sigmoid
  EXPECT_LE(r.max().item<float>(), 1.0f);
  expect_gradients_everywhere(deep, images);
  EXPECT_EQ(deep.describe()["hidden"], nlohmann::json({64, 32, 16}));
  EXPECT_EQ(deep.describe()["family"], "dense");
  // 784*64 + 64*32 + 32*16 + 16*8, and the mirror back.
  EXPECT_DOUBLE_EQ(deep.forward_macs_per_sample(), 2.0 * (784 * 64 + 64 * 32 + 32 * 16 + 16 * 8));
}

TEST(Families, ConvRestoresEvenAndOddSizesExactly) {
  torch::manual_seed(0);
  for (const auto& shape : {std::vector<std::int64_t>{1, 28, 28}, std::vector<std::int64_t>{2, 29, 31}}) {
    ConvAutoencoderImpl conv({shape, {4, 8}, 6, false, "sigmoid"});
    const auto x = torch::rand({2, shape[0], shape[1], shape[2]});
    const auto out = conv.forward(x);
    EXPECT_EQ(out.reconstruction.sizes(), x.sizes()) << shape[1] << "x" << shape[2];
    EXPECT_EQ(out.latent.sizes(), (std::vector<std::int64_t>{2, 6}));
    expect_gradients_everywhere(conv, x);
  }
  EXPECT_THROW(ConvAutoencoderImpl({{1, 3, 3}, {4, 8}, 6, false, "sigmoid"}), std::invalid_argument);  // 3 -> 1 -> 0
  EXPECT_THROW(ConvAutoencoderImpl({{12}, {4}, 6, false, "sigmoid"}), std::invalid_argument);          // not an image
}

TEST(Families, VaeSamplesInTrainingAndDecodesTheMeanInEval) {
  torch::manual_seed(0);
  for (bool conv : {false, true}) {
    std::shared_ptr<Autoencoder> vae;
    if (conv)
      vae = std::make_shared<ConvAutoencoderImpl>(ConvOptions{{1, 12, 12}, {4}, 5, true, "sigmoid"});
    else
      vae = std::make_shared<DenseAutoencoderImpl>(DenseOptions{{1, 12, 12}, {16}, 5, true, "sigmoid"});
    const auto x = torch::rand({4, 1, 12, 12});
    vae->train();
    const auto a = vae->forward(x), b = vae->forward(x);
    ASSERT_TRUE(a.log_variance.defined());
    EXPECT_TRUE(torch::equal(a.latent, b.latent));                   // the mean is deterministic
    EXPECT_FALSE(torch::equal(a.reconstruction, b.reconstruction));  // the decoded code is sampled
    vae->eval();
    EXPECT_TRUE(torch::equal(vae->forward(x).reconstruction, vae->forward(x).reconstruction));
    expect_gradients_everywhere(*vae, x);
    EXPECT_TRUE(vae->describe()["variational"].get<bool>());
  }
}

TEST(RecoveryLosses, EveryKindAgainstAHandComputation) {
  const auto p = torch::tensor({0.2, 0.9, 0.5, 0.7}, torch::kFloat64).reshape({2, 1, 2, 1});
  const auto y = torch::tensor({0.0, 1.0, 1.0, 0.5}, torch::kFloat64).reshape({2, 1, 2, 1});
  auto sums = [&](RecoveryLoss loss) { return recovery_element_sums(p, y, loss); };
  auto expect_sums = [](const torch::Tensor& got, double s0, double s1) {
    ASSERT_EQ(got.sizes(), (std::vector<std::int64_t>{2, 1}));
    EXPECT_NEAR(got[0][0].item<double>(), s0, 1e-12);
    EXPECT_NEAR(got[1][0].item<double>(), s1, 1e-12);
  };
  expect_sums(sums({"mse"}), 0.04 + 0.01, 0.25 + 0.04);
  expect_sums(sums({"bce"}), -std::log(0.8) - std::log(0.9), -std::log(0.5) - (0.5 * std::log(0.7) + 0.5 * std::log(0.3)));
  expect_sums(sums({"smooth_l1"}), 0.5 * 0.04 + 0.5 * 0.01, 0.5 * 0.25 + 0.5 * 0.04);
  // Focal, gamma 2, alpha 0.25, element by element: p_t, alpha_t as in the header.
  auto focal = [](double pv, double yv) {
    const double pt = yv * pv + (1 - yv) * (1 - pv), at = yv * 0.25 + (1 - yv) * 0.75;
    return -at * std::pow(1 - pt, 2) * std::log(pt);
  };
  expect_sums(sums({"focal", 2.0, 0.25}), focal(0.2, 0) + focal(0.9, 1), focal(0.5, 1) + focal(0.7, 0.5));
  // gamma 0, alpha 0.5: half the binary cross-entropy where the targets are 0 or 1 (sample 0).
  EXPECT_NEAR(sums({"focal", 0.0, 0.5})[0][0].item<double>(), 0.5 * sums({"bce"})[0][0].item<double>(), 1e-12);
  // mse equals the reference's squared_error_sums on sequences; vectors are one channel.
  const auto a = torch::rand({3, 2, 4, 5, 5}), b = torch::rand({3, 2, 4, 5, 5});
  EXPECT_TRUE(torch::equal(recovery_element_sums(a, b, {"mse"}), squared_error_sums(a, b)));
  EXPECT_EQ(recovery_element_sums(torch::rand({3, 4}), torch::rand({3, 4}), {"max"}).sizes(),
            (std::vector<std::int64_t>{3, 1}));
}

TEST(Regularisers, KlL1SparsityAndNoiseAgainstHandNumbers) {
  const auto mean = torch::tensor({{0.5, -1.0}, {0.0, 0.0}}, torch::kFloat64);
  const auto lv = torch::tensor({{0.2, -0.3}, {0.0, 0.0}}, torch::kFloat64);
  const auto kl = kl_to_standard_normal(mean, lv);
  auto term = [](double m, double v) { return -0.5 * (1 + v - m * m - std::exp(v)); };
  EXPECT_NEAR(kl[0].item<double>(), term(0.5, 0.2) + term(-1.0, -0.3), 1e-12);
  EXPECT_NEAR(kl[1].item<double>(), 0.0, 1e-15);  // the prior itself
  EXPECT_NEAR(l1_per_sample(mean)[0].item<double>(), 1.5, 1e-15);
  const auto rho_hat = torch::tensor({0.1, 0.05}, torch::kFloat64);
  const double rho = 0.05;
  EXPECT_NEAR(sparsity_kl(rho_hat, rho).item<double>(),
              rho * std::log(rho / 0.1) + (1 - rho) * std::log((1 - rho) / 0.9), 1e-12);
  EXPECT_NEAR(sparsity_kl(torch::full({3}, rho, torch::kFloat64), rho).item<double>(), 0.0, 1e-15);

  torch::manual_seed(1);
  const auto x = torch::ones({100000});
  EXPECT_TRUE(torch::equal(corrupt(x, {"none", 0.3}), x));
  const double zeroed = (corrupt(x, {"masking", 0.3}) == 0).to(torch::kFloat64).mean().item<double>();
  EXPECT_NEAR(zeroed, 0.3, 0.01);
  EXPECT_NEAR((corrupt(x, {"gaussian", 0.2}) - x).std().item<double>(), 0.2, 0.005);
  EXPECT_THROW(corrupt(x, {"salt", 0.1}), std::invalid_argument);
}
