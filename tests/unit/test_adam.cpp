// Our Adam (state in plain tensors, multi-tensor kernels) against LibTorch's
// torch::optim::Adam, which follows torch.optim.Adam: weight decay added to
// the gradient, bias corrections, eps outside the square root.
#include <gtest/gtest.h>

#include "train/adam.h"

TEST(Adam, MatchesTorchOptimAdamOverSeveralSteps) {
  torch::manual_seed(7);
  std::vector<torch::Tensor> ours, theirs;
  for (auto shape : {std::vector<int64_t>{3, 4}, {5}, {2, 2, 2}}) {
    auto p = torch::randn(shape, torch::kFloat64);
    ours.push_back(p.clone().requires_grad_(true));
    theirs.push_back(p.clone().requires_grad_(true));
  }
  cdae::train::Adam adam(ours, {1e-2, 0.9, 0.999, 1e-8, 1e-2});
  torch::optim::Adam reference(theirs, torch::optim::AdamOptions(1e-2).weight_decay(1e-2));
  for (int step = 0; step < 5; ++step) {
    for (size_t k = 0; k < ours.size(); ++k) {
      const auto g = torch::randn(ours[k].sizes(), torch::kFloat64);
      ours[k].mutable_grad() = g.clone();
      theirs[k].mutable_grad() = g.clone();
    }
    adam.step();
    reference.step();
    for (size_t k = 0; k < ours.size(); ++k)
      EXPECT_TRUE(torch::allclose(ours[k], theirs[k], 1e-12, 1e-12)) << "parameter " << k << ", step " << step;
  }
  EXPECT_EQ(adam.steps, 5);
}

TEST(Adam, ParametersWithoutGradientsAreLeftAlone) {
  auto a = torch::ones({3}).requires_grad_(true), b = torch::ones({2}).requires_grad_(true);
  cdae::train::Adam adam({a, b}, {});
  a.mutable_grad() = torch::ones({3});
  adam.step();
  EXPECT_TRUE(torch::all(b == 1).item<bool>());
  EXPECT_TRUE(torch::all(a < 1).item<bool>());
}
