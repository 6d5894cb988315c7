// Sequences: rotation geometry, shards, and world-size-invariant randomness.
#include <gtest/gtest.h>

#include "data/batch_plan.h"
#include "data/coin_image.h"
#include "data/rotation_sequences.h"

using namespace cdae;

namespace {
io::GrayImage test_image(int h, int w) {
  io::GrayImage img{h, w, std::vector<float>(static_cast<size_t>(h) * w)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) img.pixels[y * w + x] = static_cast<float>((x * 7 + y * 13) % 17) / 16.0f;
  return img;
}
torch::Tensor as_tensor(const io::GrayImage& img) {
  return torch::from_blob(const_cast<float*>(img.pixels.data()), {img.height, img.width}).clone();
}
}  // namespace

TEST(Rotation, ZeroDegreesIsTheImage) {
  const auto img = test_image(11, 11);
  data::RotationSequenceGenerator gen(img, 1, torch::kCPU);
  const auto seq = gen.generate({0.0, 360.0}, 1, 2);
  ASSERT_EQ(seq.sizes().vec(), (std::vector<int64_t>{1, 1, 2, 11, 11}));
  EXPECT_TRUE(torch::allclose(seq[0][0][0], as_tensor(img), 0, 1e-5));
  EXPECT_TRUE(torch::allclose(seq[0][0][1], as_tensor(img), 0, 1e-5));
}

TEST(Rotation, NinetyDegreesIsCounterClockwiseOnScreen) {
  // OpenCV convention: +90 moves what was below the centre to its right,
  // which is numpy's rot90(img, 1): dst[i][j] = src[j][W-1-i] for a square image.
  const auto img = test_image(9, 9);
  data::RotationSequenceGenerator gen(img, 1, torch::kCPU);
  const auto frame = gen.generate({90.0}, 1, 1)[0][0][0];
  const auto src = as_tensor(img);
  const auto expected = torch::rot90(src, 1, {0, 1});
  EXPECT_TRUE(torch::allclose(frame, expected, 0, 1e-5)) << frame - expected;
  const auto minus = gen.generate({-90.0}, 1, 1)[0][0][0];
  EXPECT_TRUE(torch::allclose(minus, torch::rot90(src, -1, {0, 1}), 0, 1e-5));
}

TEST(Rotation, ARotationAndItsInverseAreCloseInTheInterior) {
  const auto coin = data::draw_coin(101, 101);
  data::RotationSequenceGenerator gen(coin, 1, torch::kCPU);
  const auto rotated = gen.generate({37.0}, 1, 1)[0][0][0];
  io::GrayImage rotated_img{101, 101, std::vector<float>(rotated.data_ptr<float>(), rotated.data_ptr<float>() + 101 * 101)};
  data::RotationSequenceGenerator back(rotated_img, 1, torch::kCPU);
  const auto restored = back.generate({-37.0}, 1, 1)[0][0][0];
  const auto interior = torch::indexing::Slice(25, 76);
  const auto diff = (restored.index({interior, interior}) - as_tensor(coin).index({interior, interior})).abs();
  EXPECT_LT(diff.mean().item<float>(), 0.03f);
  EXPECT_GT(as_tensor(coin).std().item<float>(), 0.1f);  // the picture is not flat
}

TEST(Rotation, ChannelsAreReplicatedAndFramesFollowTheAngles) {
  const auto img = test_image(13, 13);
  data::RotationSequenceGenerator gen(img, 3, torch::kCPU);
  const auto seq = gen.generate({0, 90, 180, 90, 0, -90}, 2, 3);
  ASSERT_EQ(seq.sizes().vec(), (std::vector<int64_t>{2, 3, 3, 13, 13}));
  EXPECT_TRUE(torch::equal(seq[1][0], seq[1][2]));
  EXPECT_TRUE(torch::allclose(seq[0][0][1], seq[1][0][0], 0, 1e-6));  // both 90 degrees
  EXPECT_TRUE(torch::allclose(seq[0][0][2], torch::rot90(as_tensor(img), 2, {0, 1}), 0, 1e-5));
}

TEST(Rotation, TheCpuLoopEqualsGridSampleOfTheAffineGrid) {
  // The CPU generates frames with its own bilinear loop; other devices use
  // grid_sample (align_corners, zeros), computed here on the CPU: same frames.
  for (const auto& [h, w] : {std::pair<int, int>{49, 49}, std::pair<int, int>{13, 18}}) {
    const auto img = test_image(h, w);
    data::RotationSequenceGenerator gen(img, 2, torch::kCPU);
    const std::vector<double> angles{37.3, -2.1, 2.0, 90.0, 181.7, 0.0};
    const auto seq = gen.generate(angles, 2, 3);
    ASSERT_EQ(seq.sizes().vec(), (std::vector<int64_t>{2, 2, 3, h, w}));
    const double cx = w / 2, cy = h / 2;
    for (size_t f = 0; f < angles.size(); ++f) {
      const auto [c, s] = data::cos_sin_degrees(angles[f]);
      const auto xs = torch::arange(w, torch::kFloat32).view({1, w}).expand({h, w}) - cx;
      const auto ys = torch::arange(h, torch::kFloat32).view({h, 1}).expand({h, w}) - cy;
      const auto src_x = static_cast<float>(c) * xs - static_cast<float>(s) * ys + cx;
      const auto src_y = static_cast<float>(s) * xs + static_cast<float>(c) * ys + cy;
      const auto grid = torch::stack({src_x * (2.0 / (w - 1)) - 1.0, src_y * (2.0 / (h - 1)) - 1.0}, 2).unsqueeze(0);
      namespace F = torch::nn::functional;
      const auto expected = F::grid_sample(as_tensor(img).view({1, 1, h, w}), grid,
                                           F::GridSampleFuncOptions().mode(torch::kBilinear)
                                               .padding_mode(torch::kZeros).align_corners(true))[0][0];
      for (int ch = 0; ch < 2; ++ch)
        EXPECT_TRUE(torch::allclose(seq[f / 3][ch][f % 3], expected, 0, 1e-5))
            << angles[f] << " degrees: " << (seq[f / 3][ch][f % 3] - expected).abs().max();
    }
  }
}

TEST(Shards, EvenSplitFirstRanksTakeOneMore) {
  EXPECT_EQ(data::shard_sizes(100, 3), (std::vector<int64_t>{34, 33, 33}));
  EXPECT_EQ(data::shard_sizes(8, 3), (std::vector<int64_t>{3, 3, 2}));
  EXPECT_EQ(data::shard_sizes(2, 3), (std::vector<int64_t>{1, 1, 0}));
  for (int world : {1, 2, 3, 6, 16}) {
    int64_t next = 0;
    for (int r = 0; r < world; ++r) {
      const auto s = data::even_shard(108, r, world);
      EXPECT_EQ(s.begin, next);
      next = s.end;
    }
    EXPECT_EQ(next, 108);
  }
}

TEST(Angles, TheBatchIsTheSameWhateverTheNumberOfRanks) {
  const data::SequenceKind kind{2.0, false};
  const auto whole = data::sequence_angles(kind, 7, 3, 1, {0, 100}, 21);
  for (int world : {2, 3, 6, 16}) {
    std::vector<double> joined;
    for (int r = 0; r < world; ++r) {
      const auto part = data::sequence_angles(kind, 7, 3, 1, data::even_shard(100, r, world), 21);
      joined.insert(joined.end(), part.begin(), part.end());
    }
    EXPECT_EQ(joined, whole) << world << " ranks";
  }
  for (int i = 1; i < 21; ++i) EXPECT_NEAR(whole[i] - whole[0], 2.0 * i, 1e-9);
  EXPECT_GE(whole[0], 0.0);
  EXPECT_LT(whole[0], 360.0);
  // Another epoch, stream or seed gives other angles.
  EXPECT_NE(data::sequence_angles(kind, 7, 4, 1, {0, 1}, 21)[0], whole[0]);
  EXPECT_NE(data::sequence_angles(kind, 7, 3, 2, {0, 1}, 21)[0], whole[0]);
  EXPECT_NE(data::sequence_angles(kind, 8, 3, 1, {0, 1}, 21)[0], whole[0]);
}

TEST(Angles, RandomSequencesDrawEveryFrame) {
  const auto a = data::sequence_angles({0.0, true}, 1, 0, 5, {0, 50}, 21);
  double mean = 0;
  for (double v : a) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 360.0);
    mean += v / a.size();
  }
  EXPECT_NEAR(mean, 180.0, 15.0);
  EXPECT_NE(a[1] - a[0], a[2] - a[1]);
}
