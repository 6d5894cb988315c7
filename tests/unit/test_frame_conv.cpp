// The im2col + GEMM form of the one-frame layers computes the same function,
// with the same parameters and initialisation, as the plain Conv3d layers.
#include <gtest/gtest.h>

#include "model/autoencoder.h"
#include "model/frame_conv.h"

using namespace cdae::model;

namespace {

// Same output, input gradient and parameter gradients, in float64.
template <typename Fast, typename Plain>
void expect_same_layer(Fast& fast, Plain& plain, const torch::Tensor& input) {
  ASSERT_TRUE(torch::equal(fast->weight, plain->weight));  // same default initialisation
  ASSERT_TRUE(torch::equal(fast->bias, plain->bias));
  fast->to(torch::kFloat64);
  plain->to(torch::kFloat64);
  auto x1 = input.clone().requires_grad_(true), x2 = input.clone().requires_grad_(true);
  const auto y1 = fast->forward(x1), y2 = plain->forward(x2);
  ASSERT_EQ(y1.sizes(), y2.sizes());
  EXPECT_TRUE(torch::allclose(y1, y2, 1e-10, 1e-10));
  const auto upstream = torch::randn_like(y2);
  (y1 * upstream).sum().backward();
  (y2 * upstream).sum().backward();
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(fast->weight.grad(), plain->weight.grad(), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(fast->bias.grad(), plain->bias.grad(), 1e-10, 1e-10));
}

}  // namespace

TEST(FrameConv, ConvMatchesConv3dForwardAndBackward) {
  torch::manual_seed(1);
  FrameConv3d fast(2, ConvSpec{6, {1, 5, 5}, {1, 2, 2}});
  torch::manual_seed(1);
  torch::nn::Conv3d plain(torch::nn::Conv3dOptions(2, 6, {1, 5, 5}).stride({1, 2, 2}));
  expect_same_layer(fast, plain, torch::randn({3, 2, 4, 17, 15}, torch::kFloat64));
}

TEST(FrameConv, TransposedConvMatchesConvTranspose3dForwardAndBackward) {
  torch::manual_seed(2);
  FrameConvTranspose3d fast(6, ConvSpec{2, {1, 5, 5}, {1, 2, 2}});
  torch::manual_seed(2);
  torch::nn::ConvTranspose3d plain(torch::nn::ConvTranspose3dOptions(6, 2, {1, 5, 5}).stride({1, 2, 2}));
  expect_same_layer(fast, plain, torch::randn({2, 6, 3, 7, 8}, torch::kFloat64));
}

TEST(FrameConv, TheWholeModelIsTheSameFunctionWithTheSameStateDict) {
  auto arch = make_preset("small", 1, 21, 37, 37, 0.0);
  torch::manual_seed(3);
  SpatioTemporalAutoencoder plain(arch);
  arch.im2col_frame_convs = true;
  torch::manual_seed(3);
  SpatioTemporalAutoencoder fast(arch);
  const auto a = state_dict(*plain), b = state_dict(*fast);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].first, b[k].first);
    EXPECT_TRUE(torch::equal(a[k].second, b[k].second)) << a[k].first;
  }
  const auto x = torch::rand({2, 1, 21, 37, 37});
  EXPECT_TRUE(torch::allclose(plain->forward(x).reconstruction, fast->forward(x).reconstruction, 1e-5, 1e-6));
}
