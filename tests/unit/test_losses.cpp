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

namespace {

// Scalar double loops, differentiable through autograd, for the kinds below.
torch::Tensor margin_by_loops(const torch::Tensor& x, const torch::Tensor& y, double margin, bool every) {
  const double rms = 1.0 / std::sqrt(static_cast<double>(x.size(1)));
  auto total = torch::zeros({}, x.options());
  int terms = 0;
  const auto centroid = x.mean(0);
  for (int d = 0; d < y.size(0); ++d) {
    if (every) {
      for (int i = 0; i < x.size(0); ++i, ++terms)
        total = total + torch::relu(margin - (x[i] - y[d]).square().sum().sqrt() * rms);
    } else {
      total = total + torch::relu(margin - (centroid - y[d]).square().sum().sqrt() * rms);
      ++terms;
    }
  }
  return total / terms;
}

torch::Tensor infonce_by_loops(const torch::Tensor& x, const torch::Tensor& y, double t) {
  const auto z = torch::cat({x, y});
  auto cosine = [&](int a, int b) { return (z[a] * z[b]).sum() / (z[a].norm() * z[b].norm()) / t; };
  const int n = x.size(0), all = z.size(0);
  auto total = torch::zeros({}, x.options());
  for (int i = 0; i < n; ++i) {
    auto denominator = torch::zeros({}, x.options());
    for (int k = 0; k < all; ++k)
      if (k != i) denominator = denominator + cosine(i, k).exp();
    for (int j = 0; j < n; ++j)
      if (j != i) total = total - (cosine(i, j) - denominator.log()) / double(n - 1);
  }
  return total / n;
}

// Value and gradients of `term` against `loops` on the same inputs.
template <typename Term, typename Loops>
void expect_same_value_and_gradients(Term term, Loops loops) {
  torch::manual_seed(3);
  const auto x0 = torch::randn({5, 4}, torch::kFloat64) * 0.3, y0 = torch::randn({3, 4}, torch::kFloat64) * 0.3;
  auto x1 = x0.clone().requires_grad_(true), y1 = y0.clone().requires_grad_(true);
  auto x2 = x0.clone().requires_grad_(true), y2 = y0.clone().requires_grad_(true);
  const auto a = term(x1, y1), b = loops(x2, y2);
  EXPECT_NEAR(a.template item<double>(), b.template item<double>(), 1e-10);
  a.backward();
  b.backward();
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-9, 1e-12)) << x1.grad() << x2.grad();
  EXPECT_TRUE(torch::allclose(y1.grad(), y2.grad(), 1e-9, 1e-12)) << y1.grad() << y2.grad();
  EXPECT_GT(y1.grad().abs().sum().template item<double>(), 0.0);  // the term does push the defects
}

}  // namespace

TEST(MarginContrastive, FromTheCentroidMatchesADoubleLoop) {
  expect_same_value_and_gradients([](auto& x, auto& y) { return margin_loss(x, y, 0.5, false); },
                                  [](auto& x, auto& y) { return margin_by_loops(x, y, 0.5, false); });
}

TEST(MarginContrastive, FromEveryNormalMatchesADoubleLoop) {
  expect_same_value_and_gradients([](auto& x, auto& y) { return margin_loss(x, y, 0.5, true); },
                                  [](auto& x, auto& y) { return margin_by_loops(x, y, 0.5, true); });
}

TEST(MarginContrastive, IsBoundedAndStopsPushingBeyondTheMargin) {
  const auto x = torch::zeros({4, 9}, torch::kFloat64);
  auto far = torch::full({2, 9}, 2.0, torch::kFloat64).requires_grad_(true);  // RMS distance 2 > margin 1
  const auto loss = margin_loss(x, far, 1.0, false);
  EXPECT_EQ(loss.item<double>(), 0.0);
  loss.backward();
  EXPECT_EQ(far.grad().abs().sum().item<double>(), 0.0);
  // A defect on the normal group costs exactly the margin (the largest value), with a finite gradient.
  auto same = torch::zeros({2, 9}, torch::kFloat64).requires_grad_(true);
  const auto worst = margin_loss(x, same, 1.0, false);
  EXPECT_NEAR(worst.item<double>(), 1.0, 1e-12);
  worst.backward();
  EXPECT_TRUE(torch::isfinite(same.grad()).all().item<bool>());
}

TEST(InfoNCEContrastive, MatchesADoubleLoop) {
  expect_same_value_and_gradients([](auto& x, auto& y) { return infonce_loss(x, y, 0.2); },
                                  [](auto& x, auto& y) { return infonce_by_loops(x, y, 0.2); });
}

TEST(InfoNCEContrastive, IsLowerWhenDefectsPointAway) {
  const auto x = torch::tensor({{1.0, 0.1}, {1.0, -0.1}, {0.9, 0.0}}, torch::kFloat64);
  const auto near = torch::tensor({{1.0, 0.05}}, torch::kFloat64), away = torch::tensor({{-1.0, 0.0}}, torch::kFloat64);
  EXPECT_LT(infonce_loss(x, away, 0.1).item<double>(), infonce_loss(x, near, 0.1).item<double>());
  EXPECT_EQ(infonce_loss(x, torch::zeros({0, 2}, torch::kFloat64), 0.1).item<double>(), 0.0);
}

TEST(ContrastiveTerm, DispatchesOnTheKindAndRefusesAnUnknownOne) {
  torch::manual_seed(4);
  const auto x = torch::randn({4, 3}, torch::kFloat64), y = torch::randn({2, 3}, torch::kFloat64);
  ContrastiveSettings s;
  EXPECT_EQ(contrastive_term(x, y, s).item<double>(), contrastive_loss(x, y).item<double>());
  s.kind = "margin";
  s.margin = 3.0;
  EXPECT_EQ(contrastive_term(x, y, s).item<double>(), margin_loss(x, y, 3.0, false).item<double>());
  s.kind = "infonce";
  EXPECT_EQ(contrastive_term(x, y, s).item<double>(), infonce_loss(x, y, 0.1).item<double>());
  s.kind = "triplet";
  EXPECT_THROW(contrastive_term(x, y, s), std::invalid_argument);
}
