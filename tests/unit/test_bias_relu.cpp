// The one-pass bias + ReLU and its gradient give what ATen's ops give, in
// both layouts and every type the kernels take, and the ATen fallback in others.
#include <gtest/gtest.h>

#include "model/bias_relu.h"

using namespace cdae::model;

namespace {

const std::vector<std::vector<std::int64_t>> kSizes{
    {3, 16, 5, 7, 9},    // the cpu preset's 16 channels
    {2, 5, 3, 4, 6},     // a channel count no vector width divides
    {1, 128, 2, 3, 3},   // the seed's 128
    {2, 3, 1, 1, 1},     // one pixel: both layouts at once
    {4, 8, 2, 40, 40}};  // more than one block of rows and of plane values
const std::vector<torch::MemoryFormat> kLayouts{torch::MemoryFormat::Contiguous,
                                                torch::MemoryFormat::ChannelsLast3d};

torch::Tensor bias_view(const torch::Tensor& b, std::int64_t dim) {
  std::vector<std::int64_t> shape(dim, 1);
  shape[1] = -1;
  return b.view(shape);
}

}  // namespace

TEST(BiasRelu, AddsBiasAndClampsAsATenDoes) {
  for (const auto type : {torch::kFloat, torch::kDouble, torch::kBFloat16})
    for (const auto& sizes : kSizes)
      for (const auto layout : kLayouts)
        for (const bool relu : {false, true}) {
          const auto y0 = torch::randn(sizes).to(type).contiguous(layout);
          const auto bias = torch::randn({sizes[1]});  // float32 parameters, as under autocast
          auto expected = y0.clone().add_(bias_view(bias.to(type), 5));
          if (relu) expected.clamp_min_(0);
          auto y = y0.clone();
          const auto* data = y.data_ptr();
          add_bias_relu_(y, bias, relu);
          EXPECT_EQ(y.data_ptr(), data) << "in place";
          EXPECT_EQ(y.strides(), y0.strides());
          EXPECT_TRUE(torch::equal(y, expected)) << type << " " << torch::IntArrayRef(sizes) << " relu " << relu;
        }
}

TEST(BiasRelu, KeepsNaNSoThatTrainingCanStopOnIt) {
  for (const auto type : {torch::kFloat, torch::kBFloat16}) {
    auto y = torch::zeros({1, 16, 2, 2, 2}).to(type).contiguous(torch::MemoryFormat::ChannelsLast3d);
    y.index_put_({0, 3, 1, 1, 1}, std::numeric_limits<float>::quiet_NaN());
    add_bias_relu_(y, torch::ones({16}), true);
    EXPECT_TRUE(torch::isnan(y[0][3][1][1][1]).item<bool>()) << type;
    EXPECT_EQ(torch::isnan(y).sum().item<int>(), 1);
  }
}

TEST(BiasRelu, GradientEqualsThresholdBackwardAndItsSum) {
  for (const auto type : {torch::kFloat, torch::kDouble, torch::kBFloat16})
    for (const auto& sizes : kSizes)
      for (const auto layout : kLayouts)
        for (const auto grad_layout : kLayouts) {
          const auto y = torch::relu(torch::randn(sizes)).to(type).contiguous(layout);
          const auto grad_y = torch::randn(sizes).to(type).contiguous(grad_layout);
          const auto [grad, sums] = relu_gradient_with_channel_sums(grad_y, y, torch::kFloat);
          const auto expected = torch::threshold_backward(grad_y, y, 0);
          EXPECT_TRUE(torch::equal(grad, expected)) << type << " " << torch::IntArrayRef(sizes);
          EXPECT_EQ(grad.strides(), y.strides()) << "in y's layout";
          EXPECT_EQ(sums.scalar_type(), torch::kFloat);
          // A float sum's error scales with the sum of the magnitudes, not with
          // the result: a channel whose terms cancel to 0.6 out of 5000 may be off
          // by 1e-4 and its order of summation depends on the CPU's vector width.
          const auto exact = expected.to(torch::kDouble);
          const auto expected_sums = exact.sum({0, 2, 3, 4});
          const auto magnitudes = exact.abs().sum({0, 2, 3, 4});
          const auto error = (sums.to(torch::kDouble) - expected_sums).abs();
          EXPECT_TRUE((error <= 1e-6 * magnitudes + 1e-6).all().item<bool>())
              << type << " " << torch::IntArrayRef(sizes) << "\n" << sums << expected_sums;
        }
}

TEST(BiasRelu, SumsDoNotDependOnTheThreadCount) {
  const auto y = torch::relu(torch::randn({4, 16, 3, 30, 30})).contiguous(torch::MemoryFormat::ChannelsLast3d);
  const auto grad_y = torch::randn_like(y);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = relu_gradient_with_channel_sums(grad_y, y, torch::kFloat).channel_sums;
  at::set_num_threads(2);
  const auto two = relu_gradient_with_channel_sums(grad_y, y, torch::kFloat).channel_sums;
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, two));
}

TEST(BiasRelu, OtherTypesAndLayoutsFallBackToATen) {
  // half precision and a permuted (neither layout) tensor
  auto half = torch::randn({2, 3, 2, 2, 2}).to(torch::kHalf);
  const auto bias = torch::randn({3});
  const auto expected = (half + bias_view(bias.to(torch::kHalf), 5)).clamp_min(0);
  add_bias_relu_(half, bias, true);
  EXPECT_TRUE(torch::equal(half, expected));
  const auto base = torch::randn({2, 4, 3, 5, 6});
  auto permuted = base.permute({0, 1, 3, 2, 4});
  const auto expected_permuted = (permuted + bias_view(torch::ones({4}), 5)).clamp_min(0);
  add_bias_relu_(permuted, torch::ones({4}), true);
  EXPECT_TRUE(torch::equal(permuted, expected_permuted));
  const auto grad_y = torch::randn_like(permuted);
  const auto [grad, sums] = relu_gradient_with_channel_sums(grad_y, permuted, torch::kDouble);
  EXPECT_TRUE(torch::equal(grad, torch::threshold_backward(grad_y, permuted, 0)));
  EXPECT_EQ(sums.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(sums, grad.sum({0, 2, 3, 4}).to(torch::kDouble)));
}

TEST(BiasRelu, RejectsABiasOfTheWrongSize) {
  auto y = torch::zeros({1, 4, 2, 2, 2});
  EXPECT_THROW(add_bias_relu_(y, torch::zeros({3}), false), c10::Error);
}
