// CounterDropout is dropout: each element kept with probability 1 - p and then
// scaled by 1 / (1 - p), independently of its neighbours; the gradient uses the
// forward pass's mask; masks follow LibTorch's generator (so seed_dropout makes
// them a function of seed, epoch and rank) and not the thread count.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "model/counter_dropout.h"

using namespace cdae::model;

TEST(CounterDropout, KeepsOneMinusPOfTheElementsScaledByItsInverse) {
  for (const double p : {0.5, 0.1, 0.9}) {
    const auto x = torch::rand({1 << 20}, torch::kFloat64) + 1.0;  // no zeros
    const auto y = counter_dropout_mask_apply(x, p, 12345);
    const auto kept = y.ne(0);
    const double fraction = kept.to(torch::kFloat64).mean().item<double>();
    // 1M Bernoulli draws: standard error <= 0.0005.
    EXPECT_NEAR(fraction, 1 - p, 0.003) << "p " << p;
    EXPECT_TRUE(torch::allclose(y.masked_select(kept), x.masked_select(kept) / (1 - p), 1e-15, 0)) << "p " << p;
  }
}

TEST(CounterDropout, NeighboursAreIndependent) {
  const auto kept = counter_dropout_mask_apply(torch::ones({1 << 20}), 0.5, 7).ne(0).to(torch::kFloat64);
  const auto a = kept.slice(0, 0, -1) - 0.5, b = kept.slice(0, 1) - 0.5;
  EXPECT_NEAR((a * b).mean().item<double>() / 0.25, 0.0, 0.01);  // lag-1 correlation
  const auto rows = kept.view({1024, 1024}) - 0.5;                // lag-1024 (next image row of a 1024-wide frame)
  EXPECT_NEAR((rows.slice(0, 0, -1) * rows.slice(0, 1)).mean().item<double>() / 0.25, 0.0, 0.01);
  // Two keys one apart give unrelated masks.
  const auto other = counter_dropout_mask_apply(torch::ones({1 << 20}), 0.5, 8).ne(0).to(torch::kFloat64);
  EXPECT_NEAR(((kept - 0.5) * (other - 0.5)).mean().item<double>() / 0.25, 0.0, 0.01);
}

TEST(CounterDropout, SameKeySameMaskWhateverTheThreadsOrLayout) {
  const auto x = torch::randn({4, 8, 3, 16, 16});
  const int threads = torch::get_num_threads();
  torch::set_num_threads(1);
  const auto one = counter_dropout_mask_apply(x, 0.5, 99);
  torch::set_num_threads(std::max(2, threads));
  const auto many = counter_dropout_mask_apply(x, 0.5, 99);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, many));
  // A permuted view is masked in its logical (row-major) order.
  const auto view = x.permute({0, 2, 1, 3, 4}).contiguous().permute({0, 2, 1, 3, 4});
  ASSERT_FALSE(view.is_contiguous());
  EXPECT_TRUE(torch::equal(counter_dropout_mask_apply(view, 0.5, 99), one));
  // Channels-last is masked where it lies, and stays channels-last.
  const auto channels_last = x.contiguous(torch::MemoryFormat::ChannelsLast3d);
  const auto masked = counter_dropout_mask_apply(channels_last, 0.5, 99);
  EXPECT_TRUE(masked.is_contiguous(torch::MemoryFormat::ChannelsLast3d));
  EXPECT_TRUE(torch::equal(masked, one));
}

TEST(CounterDropout, IndicesAcrossAMultipleOfTwoToThe32KeepTheMask) {
  // Channels-last runs step S apart in the logical order; a run that crosses a
  // change of the index's high word must give each element its own mask bit.
  // Only the mask's definition is checked (no 2^32-element tensor): a run
  // straddling 2^32 against element-by-element values.
  const std::uint64_t start = (1ull << 32) - 3 * 1000;
  std::vector<std::uint8_t> run(8), one(8);
  counter_dropout_keep_mask(run.data(), 8, start, 1000, 12345, 1u << 31);
  for (int j = 0; j < 8; ++j) counter_dropout_keep_mask(&one[j], 1, start + j * 1000ull, 1, 12345, 1u << 31);
  EXPECT_EQ(run, one);
}

TEST(CounterDropout, GradientUsesTheForwardMask) {
  CounterDropout drop(0.5);
  drop->train();
  const auto x = (torch::rand({2, 3, 5, 7, 7}, torch::kFloat64) + 1.0).requires_grad_(true);
  const auto y = drop->forward(x);
  const auto upstream = torch::randn_like(y);
  (y * upstream).sum().backward();
  // dy/dx is diagonal: y / x (2 where kept, 0 where dropped).
  EXPECT_TRUE(torch::allclose(x.grad(), upstream * (y / x).detach(), 1e-14, 1e-14));
  EXPECT_GT(y.eq(0).sum().item<int64_t>(), 0);
  EXPECT_GT(y.ne(0).sum().item<int64_t>(), 0);
}

TEST(CounterDropout, MasksFollowTheDefaultGeneratorAndVanishInEval) {
  CounterDropout drop(0.5);
  const auto x = torch::ones({3, 4, 5, 6});
  torch::manual_seed(1);
  const auto a = drop->forward(x);
  const auto b = drop->forward(x);  // the next draw: another mask
  torch::manual_seed(1);
  EXPECT_TRUE(torch::equal(drop->forward(x), a));
  EXPECT_FALSE(torch::equal(a, b));
  drop->eval();
  EXPECT_TRUE(torch::equal(drop->forward(x), x));
  EXPECT_THROW(CounterDropout(1.0), std::invalid_argument);
}

TEST(CounterDropout, Bfloat16KeepsTheSameMask) {
  const auto x = torch::rand({64, 64}) + 1.0;
  const auto full = counter_dropout_mask_apply(x, 0.5, 3);
  const auto half = counter_dropout_mask_apply(x.to(torch::kBFloat16), 0.5, 3);
  EXPECT_TRUE(torch::equal(full.ne(0), half.ne(0)));
}
