#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "eval/metrics.h"
#include "../support/temp_dir.h"

namespace {

using cdae::eval::auroc;
using cdae::eval::density_histogram;
using cdae::eval::percentile;
using cdae::eval::reference_bin_count;
using cdae::eval::write_hist_dat;

double integral(const cdae::eval::DensityHistogram& h) {
  double sum = 0.0;
  for (double d : h.density) sum += d * h.bin_width;
  return sum;
}

// ------------------------------------------------------------ histogram

// np.histogram([0, 1, 2, 3, 4], bins=4, density=True)
//   -> ([0.2, 0.2, 0.2, 0.4], [0, 1, 2, 3, 4]); 4 == max lands in the last bin.
TEST(Histogram, MaxValueFallsInLastBin) {
  const auto h = density_histogram({0, 1, 2, 3, 4}, 4);
  EXPECT_EQ(h.left_edges, (std::vector<double>{0, 1, 2, 3}));
  ASSERT_EQ(h.density.size(), 4u);
  EXPECT_DOUBLE_EQ(h.density[0], 0.2);
  EXPECT_DOUBLE_EQ(h.density[1], 0.2);
  EXPECT_DOUBLE_EQ(h.density[2], 0.2);
  EXPECT_DOUBLE_EQ(h.density[3], 0.4);
  EXPECT_DOUBLE_EQ(h.bin_width, 1.0);
  EXPECT_NEAR(integral(h), 1.0, 1e-12);
}

// np.histogram([3, 3, 3], bins=2, density=True) -> ([0., 2.], [2.5, 3., 3.5])
TEST(Histogram, AllEqualValuesUseUnitRange) {
  const auto h = density_histogram({3, 3, 3}, 2);
  EXPECT_EQ(h.left_edges, (std::vector<double>{2.5, 3.0}));
  EXPECT_EQ(h.density, (std::vector<double>{0.0, 2.0}));
  EXPECT_DOUBLE_EQ(h.bin_width, 0.5);
  EXPECT_NEAR(integral(h), 1.0, 1e-12);

  const auto one = density_histogram({-7.0}, 1);
  EXPECT_EQ(one.left_edges, std::vector<double>{-7.5});
  EXPECT_EQ(one.density, std::vector<double>{1.0});
}

// np.histogram([1, 2, 1], bins=3, density=True) -> ([2., 0., 1.], [1, 4/3, 5/3, 2])
TEST(Histogram, EmptyMiddleBin) {
  const auto h = density_histogram({1, 2, 1}, 3);
  ASSERT_EQ(h.left_edges.size(), 3u);
  EXPECT_DOUBLE_EQ(h.left_edges[0], 1.0);
  EXPECT_DOUBLE_EQ(h.left_edges[1], 1.0 + 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(h.left_edges[2], 1.0 + 2.0 / 3.0);
  EXPECT_NEAR(h.density[0], 2.0, 1e-12);
  EXPECT_NEAR(h.density[1], 0.0, 1e-12);
  EXPECT_NEAR(h.density[2], 1.0, 1e-12);
}

// np.histogram([0, .1, .2, .3, .4, 1.], bins=5, density=True)
//   counts [2, 2, 1, 0, 1]: .2 and .4 sit exactly on inner edges and go right.
TEST(Histogram, ValuesOnInnerEdgesGoToTheRightBin) {
  const auto h = density_histogram({0.0, 0.1, 0.2, 0.3, 0.4, 1.0}, 5);
  const std::vector<double> expected = {2 / 1.2, 2 / 1.2, 1 / 1.2, 0.0, 1 / 1.2};
  ASSERT_EQ(h.density.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(h.density[i], expected[i], 1e-12) << i;
  EXPECT_NEAR(integral(h), 1.0, 1e-12);
}

TEST(Histogram, DensityIntegratesToOne) {
  std::mt19937 rng(7);
  std::lognormal_distribution<double> dist(0.0, 1.0);
  std::vector<double> values(5003);
  for (double& v : values) v = dist(rng);
  const int bins = reference_bin_count(values.size());
  EXPECT_EQ(bins, 500);
  const auto h = density_histogram(values, bins);
  ASSERT_EQ(h.density.size(), 500u);
  EXPECT_NEAR(integral(h), 1.0, 1e-9);
  double total = 0.0;
  for (double d : h.density) total += d * h.bin_width * values.size();
  EXPECT_NEAR(total, 5003.0, 1e-6) << "every value is counted once";
}

TEST(Histogram, RejectsBadInput) {
  EXPECT_THROW(density_histogram({}, 10), std::invalid_argument);
  EXPECT_THROW(density_histogram({1, 2}, 0), std::invalid_argument);
  EXPECT_THROW(density_histogram({1, std::nan("")}, 3), std::invalid_argument);
  EXPECT_THROW(density_histogram({1, std::numeric_limits<double>::infinity()}, 3), std::invalid_argument);
}

TEST(Histogram, ReferenceBinCount) {
  EXPECT_EQ(reference_bin_count(0), 100);
  EXPECT_EQ(reference_bin_count(999), 100);
  EXPECT_EQ(reference_bin_count(1000), 100);
  EXPECT_EQ(reference_bin_count(1019), 101);
  EXPECT_EQ(reference_bin_count(123456), 12345);
}

TEST(Histogram, WriteHistDat) {
  cdae::testing::TempDir dir;
  const std::string path = dir.file("hist.dat");
  write_hist_dat(path, density_histogram({0, 1, 2, 3, 4}, 4));
  EXPECT_EQ(cdae::testing::read_file(path),
            "0.0000000000 0.2000000000\n"
            "1.0000000000 0.2000000000\n"
            "2.0000000000 0.2000000000\n"
            "3.0000000000 0.4000000000\n");
  const std::string bad = dir.file("no_dir/hist.dat");
  try {
    write_hist_dat(bad, density_histogram({1, 2}, 2));
    ADD_FAILURE() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------ percentile

TEST(Percentile, MatchesNumpyLinear) {
  // np.percentile([1, 2, 3, 4], q)
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 50), 2.5);
  EXPECT_DOUBLE_EQ(percentile({4, 3, 2, 1}, 25), 1.75);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4}, 100), 4.0);
  // np.percentile([[10, 7, 4], [3, 2, 1]], 50) -> 3.5 (the numpy docs example)
  EXPECT_DOUBLE_EQ(percentile({10, 7, 4, 3, 2, 1}, 50), 3.5);
  // np.percentile(np.arange(1, 11), 90) -> 9.1 ; 99 -> 9.91
  std::vector<double> ten = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
  EXPECT_NEAR(percentile(ten, 90), 9.1, 1e-12);
  EXPECT_NEAR(percentile(ten, 99), 9.91, 1e-12);
  EXPECT_DOUBLE_EQ(percentile({5.0}, 37), 5.0);
  EXPECT_DOUBLE_EQ(percentile({2, 2, 2, 9}, 50), 2.0);
}

TEST(Percentile, RejectsBadInput) {
  EXPECT_THROW(percentile({}, 50), std::invalid_argument);
  EXPECT_THROW(percentile({1, 2}, -1), std::invalid_argument);
  EXPECT_THROW(percentile({1, 2}, 100.5), std::invalid_argument);
  EXPECT_TRUE(std::isnan(percentile({1, std::nan(""), 3}, 50)));
}

// ------------------------------------------------------------ auroc

TEST(Auroc, PerfectReversedAndTies) {
  EXPECT_DOUBLE_EQ(auroc({5, 6, 7}, {1, 2, 3, 4}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({1, 2, 3, 4}, {5, 6, 7}), 0.0);
  EXPECT_DOUBLE_EQ(auroc({2, 2, 2}, {2, 2}), 0.5);
}

// Pairs (pos, neg) with pos {1, 2, 3}, neg {2, 2, 0}:
//   1: beats 0, loses to 2, 2           -> 1
//   2: beats 0, ties 2, 2 (0.5 each)    -> 2
//   3: beats all three                  -> 3
// (1 + 2 + 3) / 9 = 2/3
TEST(Auroc, HandComputedWithTies) {
  EXPECT_NEAR(auroc({1, 2, 3}, {2, 2, 0}), 6.0 / 9.0, 1e-15);
  EXPECT_NEAR(auroc({2, 2, 0}, {1, 2, 3}), 3.0 / 9.0, 1e-15);
}

TEST(Auroc, MatchesBruteForceOnRandomData) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> dist(0, 20);  // many ties
  std::vector<double> pos(211), neg(157);
  for (double& v : pos) v = dist(rng) + 2;
  for (double& v : neg) v = dist(rng);
  double wins = 0.0;
  for (double p : pos)
    for (double n : neg) wins += p > n ? 1.0 : (p == n ? 0.5 : 0.0);
  EXPECT_NEAR(auroc(pos, neg), wins / (pos.size() * neg.size()), 1e-12);
}

TEST(Auroc, LargeInputIsFast) {
  std::mt19937 rng(11);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> pos(300000), neg(300000);
  for (double& v : pos) v = dist(rng) + 1.0;
  for (double& v : neg) v = dist(rng);
  const double a = auroc(pos, neg);
  // Phi(1 / sqrt(2)) = 0.7602
  EXPECT_NEAR(a, 0.7602, 0.005);
}

TEST(Auroc, RejectsEmptyOrNonFinite) {
  EXPECT_THROW(auroc({}, {1.0}), std::invalid_argument);
  EXPECT_THROW(auroc({1.0}, {}), std::invalid_argument);
  EXPECT_THROW(auroc({std::nan("")}, {1.0}), std::invalid_argument);
}

}  // namespace
