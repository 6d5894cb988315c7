#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/coin_image.h"

namespace {

using cdae::data::draw_coin;
using cdae::io::GrayImage;

float at(const GrayImage& img, int i, int j) { return img.pixels[static_cast<std::size_t>(i) * img.width + j]; }

// With an odd size the coin center (h//2, w//2) is the array center, so these
// array flips are exact rotations/reflections about the coin center.
GrayImage transformed(const GrayImage& img, int kind) {
  GrayImage out = img;
  for (int i = 0; i < img.height; ++i) {
    for (int j = 0; j < img.width; ++j) {
      int si = i, sj = j;
      if (kind == 0) { si = img.height - 1 - i; sj = img.width - 1 - j; }  // 180 degrees
      if (kind == 1) { sj = img.width - 1 - j; }                             // left-right mirror
      if (kind == 2) { si = img.height - 1 - i; }                            // up-down mirror
      if (kind == 3) { si = j; sj = img.width - 1 - i; }                     // 90 degrees (square only)
      out.pixels[static_cast<std::size_t>(i) * img.width + j] = at(img, si, sj);
    }
  }
  return out;
}

double mean_abs_diff(const GrayImage& a, const GrayImage& b) {
  double sum = 0.0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(a.pixels[i] - b.pixels[i]);
  return sum / a.pixels.size();
}

TEST(Coin, SizeAndRange) {
  for (auto [h, w] : {std::pair{16, 16}, std::pair{17, 31}, std::pair{64, 48}, std::pair{128, 128}, std::pair{512, 512}}) {
    const GrayImage img = draw_coin(h, w);
    ASSERT_EQ(img.height, h);
    ASSERT_EQ(img.width, w);
    ASSERT_EQ(img.pixels.size(), static_cast<std::size_t>(h * w));
    const auto [lo, hi] = std::minmax_element(img.pixels.begin(), img.pixels.end());
    EXPECT_GE(*lo, 0.0f);
    EXPECT_LE(*hi, 1.0f);
    EXPECT_EQ(at(img, 0, 0), 0.0f) << "corners are background";
    EXPECT_EQ(at(img, h - 1, w - 1), 0.0f);
    EXPECT_GT(*hi, 0.5f) << h << "x" << w << " has a visible coin";
  }
}

TEST(Coin, HasDiskDigitsAndDots) {
  const GrayImage img = draw_coin(129, 129);
  const int c = 64;
  // Between the two digits: the disk.
  EXPECT_GT(at(img, c, c), 0.6f);
  // Somewhere in the middle something is much darker than the disk (digits).
  float darkest = 1.0f;
  for (int i = c - 20; i <= c + 20; ++i)
    for (int j = c - 25; j <= c + 25; ++j) darkest = std::min(darkest, at(img, i, j));
  EXPECT_LT(darkest, 0.3f);
  // Rim dots are the brightest pixels.
  int bright = 0;
  for (float v : img.pixels) bright += v > 0.95f;
  EXPECT_GT(bright, 36);
}

TEST(Coin, NotRotationOrMirrorSymmetric) {
  for (int size : {17, 63, 127}) {
    const GrayImage img = draw_coin(size, size);
    for (int kind : {0, 1, 2, 3}) {
      EXPECT_GT(mean_abs_diff(img, transformed(img, kind)), 0.01) << "size " << size << " transform " << kind;
    }
    EXPECT_EQ(mean_abs_diff(img, transformed(transformed(img, 0), 0)), 0.0) << "the test's own flip is right";
  }
}

TEST(Coin, Deterministic) {
  EXPECT_EQ(draw_coin(64, 64).pixels, draw_coin(64, 64).pixels);
  EXPECT_EQ(draw_coin(33, 20).pixels, draw_coin(33, 20).pixels);
}

TEST(Coin, RejectsBadSizes) {
  EXPECT_THROW(draw_coin(0, 10), std::invalid_argument);
  EXPECT_THROW(draw_coin(10, -1), std::invalid_argument);
}

}  // namespace
