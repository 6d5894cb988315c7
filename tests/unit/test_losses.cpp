// Losses against direct computations, including the distributed pieces'
// normalisations and the zero-distance gradient.
#include <gtest/gtest.h>

#include "model/losses.h"

using namespace cdae::model;

TEST(Contrastive, MatchesADirectDoubleLoop) {
  torch::manual_seed(1);
  const auto x = torch::randn({6, 5}, torch::kFloat64), y = torch::randn({3, 5}, torch::kFloat64);
  double d_xy = 0, d_xx = 0;
  for (int i = 0; i < 6; ++i) {
    for (int d = 0; d < 3; ++d) d_xy += (x[i] - y[d]).norm().item<double>();
    for (int j = 0; j < 6; ++j) d_xx += (x[i] - x[j]).norm().item<double>();
  }
  d_xy /= 6.0 * 3.0;
  d_xx /= 6.0 * 5.0 / 2.0;  // ordered pairs over n(n-1)/2, as the reference
  EXPECT_NEAR(contrastive_loss(x, y).item<double>(), d_xx - d_xy, 1e-10);
}

TEST(Contrastive, GradientOfZeroDistancesIsZeroNotNaN) {
  auto x = torch::ones({3, 4}, torch::kFloat64).requires_grad_(true);  // all pairwise distances zero
  auto y = torch::zeros({2, 4}, torch::kFloat64).requires_grad_(true);
  contrastive_loss(x, y).backward();
  EXPECT_TRUE(torch::isfinite(x.grad()).all().item<bool>());
  EXPECT_TRUE(torch::isfinite(y.grad()).all().item<bool>());
  // d_xx contributes nothing at zero distance; d_xy pulls x towards... away from y.
  auto x2 = torch::ones({3, 4}, torch::kFloat64).requires_grad_(true);
  auto y2 = torch::zeros({2, 4}, torch::kFloat64);
  (-(pairwise_distances(x2, y2).sum() / 6.0)).backward();
  EXPECT_TRUE(torch::allclose(x.grad(), x2.grad(), 1e-12, 1e-12));
}

TEST(Contrastive, NoDefectsMeansNoTerm) {
  EXPECT_EQ(contrastive_loss(torch::randn({4, 3}), torch::zeros({0, 3})).item<float>(), 0.0f);
}

TEST(Recovery, MseIsSumOverNormalsDividedBySeqlenChannelsAndBatch) {
  const auto recon = torch::zeros({4, 2, 3, 5, 5}), target = torch::full({4, 2, 3, 5, 5}, 0.5f);
  const auto sse = squared_error_sums(recon, target);
  ASSERT_EQ(sse.sizes().vec(), (std::vector<int64_t>{4, 2}));
  const double total = 4 * 2 * 3 * 25 * 0.25;
  EXPECT_NEAR(recovery_mse(sse, 3, 4).item<double>(), total / 3 / 2 / 4, 1e-9);
  // Two ranks' halves with the global count sum to the whole.
  EXPECT_NEAR(recovery_mse(sse.narrow(0, 0, 1), 3, 4).item<double>() + recovery_mse(sse.narrow(0, 1, 3), 3, 4).item<double>(),
              recovery_mse(sse, 3, 4).item<double>(), 1e-9);
}

TEST(Recovery, MaxIsTheLargestPerSampleChannelSum) {
  auto target = torch::zeros({3, 2, 2, 2, 2});
  target[1][1].fill_(1.0);  // sample 1, channel 1: sum 8
  target[2][0].fill_(0.5);  // sample 2, channel 0: sum 2
  const auto sse = squared_error_sums(torch::zeros_like(target), target);
  EXPECT_NEAR(recovery_max(sse, 2).item<double>(), 8.0 / 2 / 2, 1e-9);
  const auto per_sample = per_sample_loss(sse, 2, "max");
  EXPECT_NEAR(per_sample[1].item<double>(), 8.0 / 4, 1e-9);
  EXPECT_NEAR(per_sample_loss(sse, 2, "mse")[2].item<double>(), 2.0 / 4, 1e-9);
  EXPECT_THROW(per_sample_loss(sse, 2, "l1"), std::invalid_argument);
}
