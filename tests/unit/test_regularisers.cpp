// The families' loss terms against scalar loops written from their
// definitions: every recovery loss kind per sample and channel, the VAE's KL
// term, L1 and KL sparsity, and the denoising input corruptions' statistics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "model/losses.h"
#include "model/recovery_losses.h"
#include "model/regularisers.h"

using namespace cdae::model;

namespace {

// One element's loss, from the definitions in recovery_losses.h.
double element_loss(const RecoveryLoss& loss, double p, double y) {
  const double d = p - y;
  if (loss.kind == "mse" || loss.kind == "max") return d * d;
  if (loss.kind == "smooth_l1") return std::abs(d) < 1 ? 0.5 * d * d : std::abs(d) - 0.5;
  p = std::min(std::max(p, 1e-7), 1 - 1e-7);
  if (loss.kind == "bce") return -(y * std::log(p) + (1 - y) * std::log(1 - p));
  const double p_t = y * p + (1 - y) * (1 - p);
  const double alpha_t = y * loss.focal_alpha + (1 - y) * (1 - loss.focal_alpha);
  return -alpha_t * std::pow(1 - p_t, loss.focal_gamma) * std::log(p_t);
}

// (N, C) sums by loops; a 2-D input is (N, D): one channel.
torch::Tensor sums_by_loops(const torch::Tensor& p, const torch::Tensor& y, const RecoveryLoss& loss) {
  const auto p3 = p.dim() == 2 ? p.unsqueeze(1) : p.flatten(2);
  const auto y3 = y.dim() == 2 ? y.unsqueeze(1) : y.flatten(2);
  auto out = torch::zeros({p3.size(0), p3.size(1)}, torch::kFloat64);
  const auto pa = p3.accessor<double, 3>(), ya = y3.accessor<double, 3>();
  auto oa = out.accessor<double, 2>();
  for (int n = 0; n < p3.size(0); ++n)
    for (int c = 0; c < p3.size(1); ++c)
      for (int k = 0; k < p3.size(2); ++k) oa[n][c] += element_loss(loss, pa[n][c][k], ya[n][c][k]);
  return out;
}

// Reconstructions and targets for every kind: unit-interval pairs (bce,
// focal; grey targets included), and wide ones whose differences reach past
// smooth L1's quadratic zone.
struct Pair {
  torch::Tensor p, y;
};
Pair unit_pair(std::vector<std::int64_t> shape) {
  return {torch::rand(shape, torch::kFloat64), torch::rand(shape, torch::kFloat64)};
}
Pair wide_pair(std::vector<std::int64_t> shape) {
  return {torch::rand(shape, torch::kFloat64) * 4 - 2, torch::rand(shape, torch::kFloat64)};
}

}  // namespace

TEST(RecoveryLosses, EveryKindMatchesLoopsOnImagesAndVectors) {
  torch::manual_seed(5);
  for (const auto& shape : {std::vector<std::int64_t>{2, 1, 2, 2}, std::vector<std::int64_t>{3, 4}}) {
    const auto unit = unit_pair(shape), wide = wide_pair(shape);
    ASSERT_TRUE(((wide.p - wide.y).abs() > 1).any().item<bool>());  // smooth L1's linear part is exercised
    ASSERT_TRUE(((wide.p - wide.y).abs() < 1).any().item<bool>());
    for (const auto& kind : recovery_loss_names()) {
      for (const RecoveryLoss& loss : {RecoveryLoss{kind, 2.0, 0.25}, RecoveryLoss{kind, 1.5, 0.7}}) {
        SCOPED_TRACE(kind + " gamma " + std::to_string(loss.focal_gamma) + " on " + std::to_string(shape.size()) + "-D");
        const auto& [p, y] = needs_unit_interval(kind) ? unit : wide;
        const auto got = recovery_element_sums(p, y, loss);
        const std::int64_t channels = shape.size() == 2 ? 1 : shape[1];
        ASSERT_EQ(got.sizes(), (std::vector<std::int64_t>{shape[0], channels}));
        EXPECT_TRUE(torch::allclose(got, sums_by_loops(p, y, loss), 1e-12, 1e-12)) << got;
      }
    }
  }
}

TEST(RecoveryLosses, HandNumbersForOneChannel) {
  // Sample 0: (0.2 | 0), (0.9 | 1); sample 1: (0.5 | 1), (2.5 | 0.5): difference 2, smooth L1's linear part.
  const auto p = torch::tensor({0.2, 0.9, 0.5, 2.5}, torch::kFloat64).reshape({2, 2});
  const auto y = torch::tensor({0.0, 1.0, 1.0, 0.5}, torch::kFloat64).reshape({2, 2});
  const auto mse = recovery_element_sums(p, y, {"mse"});
  EXPECT_NEAR(mse[0][0].item<double>(), 0.04 + 0.01, 1e-12);
  EXPECT_NEAR(mse[1][0].item<double>(), 0.25 + 4.0, 1e-12);
  const auto smooth = recovery_element_sums(p, y, {"smooth_l1"});
  EXPECT_NEAR(smooth[1][0].item<double>(), 0.5 * 0.25 + (2.0 - 0.5), 1e-12);
  // bce clamps 2.5 to 1 - 1e-7: y = 0.5 pays 0.5 * -log(1e-7) there.
  const auto bce = recovery_element_sums(p, y, {"bce"});
  EXPECT_NEAR(bce[0][0].item<double>(), -std::log(0.8) - std::log(0.9), 1e-12);
  EXPECT_NEAR(bce[1][0].item<double>(), -std::log(0.5) - 0.5 * std::log(1 - 1e-7) - 0.5 * std::log(1e-7), 1e-9);
}

TEST(RecoveryLosses, MseIsTheReferenceSquaredErrorSums) {
  torch::manual_seed(2);
  const auto a = torch::rand({3, 2, 4, 5, 5}), b = torch::rand({3, 2, 4, 5, 5});
  for (const char* kind : {"mse", "max"})
    EXPECT_TRUE(torch::equal(recovery_element_sums(a, b, {kind}), squared_error_sums(a, b))) << kind;
}

TEST(RecoveryLosses, FocalWithoutFocusingIsHalfTheCrossEntropy) {
  torch::manual_seed(4);
  const auto p = torch::rand({4, 3, 5}, torch::kFloat64);
  const auto y = (torch::rand({4, 3, 5}, torch::kFloat64) > 0.5).to(torch::kFloat64);
  const auto focal = recovery_element_sums(p, y, {"focal", 0.0, 0.5});
  EXPECT_TRUE(torch::allclose(focal, 0.5 * recovery_element_sums(p, y, {"bce"}), 1e-12, 1e-12));
  // Focusing (gamma > 0) only ever lowers each element's loss.
  EXPECT_TRUE((recovery_element_sums(p, y, {"focal", 2.0, 0.5}) < focal).all().item<bool>());
}

TEST(RecoveryLosses, NamesAndUnitIntervalKinds) {
  EXPECT_EQ(recovery_loss_names(), (std::vector<std::string>{"mse", "max", "bce", "smooth_l1", "focal"}));
  for (const auto& kind : recovery_loss_names())
    EXPECT_EQ(needs_unit_interval(kind), kind == "bce" || kind == "focal") << kind;
  EXPECT_THROW(recovery_element_sums(torch::zeros({2, 3}), torch::zeros({2, 3}), {"l1"}), std::invalid_argument);
}

TEST(Regularisers, KlToTheStandardNormalAgainstLoops) {
  torch::manual_seed(6);
  const auto mean = torch::randn({3, 4}, torch::kFloat64), lv = torch::randn({3, 4}, torch::kFloat64);
  const auto kl = kl_to_standard_normal(mean, lv);
  ASSERT_EQ(kl.sizes(), (std::vector<std::int64_t>{3}));
  for (int n = 0; n < 3; ++n) {
    double expected = 0;
    for (int j = 0; j < 4; ++j) {
      const double m = mean[n][j].item<double>(), v = lv[n][j].item<double>();
      expected += -0.5 * (1 + v - m * m - std::exp(v));
    }
    EXPECT_NEAR(kl[n].item<double>(), expected, 1e-12) << n;
    EXPECT_GT(kl[n].item<double>(), 0.0);
  }
  const auto zero = torch::zeros({2, 5}, torch::kFloat64);
  EXPECT_EQ(kl_to_standard_normal(zero, zero).abs().max().item<double>(), 0.0);  // the prior itself
}

TEST(Regularisers, L1PerSample) {
  const auto code = torch::tensor({{0.5, -1.0, 0.0}, {-2.0, 0.25, 3.0}}, torch::kFloat64);
  const auto l1 = l1_per_sample(code);
  ASSERT_EQ(l1.sizes(), (std::vector<std::int64_t>{2}));
  EXPECT_DOUBLE_EQ(l1[0].item<double>(), 1.5);
  EXPECT_DOUBLE_EQ(l1[1].item<double>(), 5.25);
}

TEST(Regularisers, SparsityKlAgainstHandNumbers) {
  const double rho = 0.05;
  const auto rho_hat = torch::tensor({0.1, 0.05, 0.5}, torch::kFloat64);
  auto kl = [&](double r) { return rho * std::log(rho / r) + (1 - rho) * std::log((1 - rho) / (1 - r)); };
  EXPECT_NEAR(sparsity_kl(rho_hat, rho).item<double>(), kl(0.1) + 0.0 + kl(0.5), 1e-12);
  EXPECT_NEAR(sparsity_kl(torch::full({4}, rho, torch::kFloat64), rho).item<double>(), 0.0, 1e-15);
  // Dead or saturated units are clamped: finite, as at 1e-6 and 1 - 1e-6.
  const auto extreme = sparsity_kl(torch::tensor({0.0, 1.0}, torch::kFloat64), rho).item<double>();
  EXPECT_NEAR(extreme, kl(1e-6) + kl(1 - 1e-6), 1e-9);
}

TEST(Regularisers, CorruptionStatistics) {
  torch::manual_seed(1);
  const auto x = torch::rand({100000}) + 0.5;  // no zeros of its own
  EXPECT_TRUE(corrupt(x, {"none", 0.3}).is_same(x));

  const auto masked = corrupt(x, {"masking", 0.3});
  const auto zeroed = masked == 0;
  EXPECT_NEAR(zeroed.to(torch::kFloat64).mean().item<double>(), 0.3, 0.02);
  EXPECT_TRUE(torch::equal(masked.masked_select(~zeroed), x.masked_select(~zeroed)));  // the rest untouched

  const auto noise = corrupt(x, {"gaussian", 0.2}) - x;
  EXPECT_NEAR(noise.std().item<double>(), 0.2, 0.005);
  EXPECT_NEAR(noise.mean().item<double>(), 0.0, 0.005);
  EXPECT_THROW(corrupt(x, {"salt", 0.1}), std::invalid_argument);
}

TEST(Regularisers, NameLists) {
  EXPECT_EQ(noise_kind_names(), (std::vector<std::string>{"none", "gaussian", "masking"}));
  EXPECT_EQ(sparsity_kind_names(), (std::vector<std::string>{"none", "l1", "kl"}));
  EXPECT_EQ(NoiseSettings{}.kind, "none");
  EXPECT_EQ(SparsitySettings{}.kind, "none");
}
