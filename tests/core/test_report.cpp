// eval::summarize and eval::write_report on hand-made class scores: AUROC with
// ties, the defect against the other outliers, the latent score, percentiles,
// and the files of the multi-class report (hist.dat per class, eval.h5,
// summary.tsv).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "eval/report.h"
#include "io/hdf5_file.h"
#include "../support/text.h"
#include "../support/temp_dir.h"

using cdae::testing::lines_of;
using cdae::testing::split_tabs;

namespace {

using cdae::eval::class_folder;
using cdae::eval::ClassScores;
using cdae::eval::summarize;
using cdae::eval::SummaryRow;
using cdae::eval::write_report;

// Four classes with hand-checkable numbers (many ties on purpose).
//
// Losses:  normal 2.0 {1,2,3,4}; defect 2.1 {3,5,7}; 1.9 {2,2,7}; random {10,20}.
// Latent:  score = dist_normal - dist_defect
//   2.0:    dn {1,1,2,2} dd {3,2,3,1} -> {-2,-1,-1, 1}
//   2.1:    dn {3,4,2}   dd {1,1,3}   -> { 2, 3,-1}
//   1.9:    dn {1,2,2}   dd {1,1,1}   -> { 0, 1, 1}
//   random: dn {5,5}     dd {5,4}     -> { 0, 1}
std::vector<ClassScores> hand_made(bool with_latent = true) {
  std::vector<ClassScores> c(4);
  c[0] = {"2.0", {1, 2, 3, 4}, {0, 90, 180, 270}, {1, 1, 2, 2}, {3, 2, 3, 1}};
  c[1] = {"2.1", {3, 5, 7}, {10, 20, 30}, {3, 4, 2}, {1, 1, 3}};
  c[2] = {"1.9", {2, 2, 7}, {40, 50, 60}, {1, 2, 2}, {1, 1, 1}};
  c[3] = {"random", {10, 20}, {70, 80}, {5, 5}, {5, 4}};
  if (!with_latent)
    for (auto& k : c) k.dist_normal.clear(), k.dist_defect.clear();
  return c;
}

const SummaryRow& row(const std::vector<SummaryRow>& rows, const std::string& label) {
  for (const auto& r : rows)
    if (r.label == label) return r;
  throw std::runtime_error("no row " + label);
}


// ------------------------------------------------------------ summarize

TEST(Summarize, RowsInInputOrderWithCounts) {
  const auto rows = summarize(hand_made(), "2.0", "2.1", nullptr, nullptr);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].label, "2.0");
  EXPECT_EQ(rows[1].label, "2.1");
  EXPECT_EQ(rows[2].label, "1.9");
  EXPECT_EQ(rows[3].label, "random");
  EXPECT_EQ(rows[0].n, 4u);
  EXPECT_EQ(rows[1].n, 3u);
  EXPECT_EQ(rows[2].n, 3u);
  EXPECT_EQ(rows[3].n, 2u);
}

// numpy.percentile (linear): {1,2,3,4}: 50 -> 2.5, 5 -> 1 + 0.15 = 1.15,
// 95 -> 3 + 0.85 = 3.85; {3,5,7}: 5, 3.2, 6.8; {10,20}: 15, 10.5, 19.5.
TEST(Summarize, Percentiles) {
  const auto rows = summarize(hand_made(), "2.0", "2.1", nullptr, nullptr);
  EXPECT_NEAR(row(rows, "2.0").median, 2.5, 1e-12);
  EXPECT_NEAR(row(rows, "2.0").p5, 1.15, 1e-12);
  EXPECT_NEAR(row(rows, "2.0").p95, 3.85, 1e-12);
  EXPECT_NEAR(row(rows, "2.1").median, 5.0, 1e-12);
  EXPECT_NEAR(row(rows, "2.1").p5, 3.2, 1e-12);
  EXPECT_NEAR(row(rows, "2.1").p95, 6.8, 1e-12);
  EXPECT_NEAR(row(rows, "1.9").median, 2.0, 1e-12);
  EXPECT_NEAR(row(rows, "1.9").p5, 2.0, 1e-12);
  EXPECT_NEAR(row(rows, "1.9").p95, 6.5, 1e-12);  // 2 + 0.9 * 5
  EXPECT_NEAR(row(rows, "random").median, 15.0, 1e-12);
  EXPECT_NEAR(row(rows, "random").p5, 10.5, 1e-12);
  EXPECT_NEAR(row(rows, "random").p95, 19.5, 1e-12);
}

// AUROC of each class's loss against the normal {1,2,3,4}, ties counted 1/2:
//   2.1 {3,5,7}: 3 -> 2 + 0.5, 5 -> 4, 7 -> 4          = 10.5 / 12
//   1.9 {2,2,7}: 2 -> 1 + 0.5 (twice), 7 -> 4           =  7   / 12
//   random:      all above                             =  1
//   normal against itself                              =  0.5
TEST(Summarize, LossAurocAgainstNormalWithTies) {
  const auto rows = summarize(hand_made(), "2.0", "2.1", nullptr, nullptr);
  EXPECT_NEAR(row(rows, "2.0").auroc_vs_normal, 0.5, 1e-15);
  EXPECT_NEAR(row(rows, "2.1").auroc_vs_normal, 10.5 / 12, 1e-15);
  EXPECT_NEAR(row(rows, "1.9").auroc_vs_normal, 7.0 / 12, 1e-15);
  EXPECT_NEAR(row(rows, "random").auroc_vs_normal, 1.0, 1e-15);
}

// The defect {3,5,7} against the other outliers pooled (1.9 and random, the
// normal class excluded) {2,2,7,10,20}: 3 -> 2, 5 -> 2, 7 -> 2 + 0.5 = 6.5 / 15.
// Latent: {2,3,-1} against {0,1,1,0,1}: 2 -> 5, 3 -> 5, -1 -> 0 = 10 / 15.
TEST(Summarize, DefectAgainstAllOtherOutliers) {
  double loss = 0, latent = 0;
  summarize(hand_made(), "2.0", "2.1", &loss, &latent);
  EXPECT_NEAR(loss, 6.5 / 15, 1e-15);
  EXPECT_NEAR(latent, 10.0 / 15, 1e-15);
}

// Latent score against the normal's {-2,-1,-1,1}:
//   2.1 {2,3,-1}: 4 + 4 + (1 + 2 * 0.5)      = 10 / 12
//   1.9 {0,1,1}:  3 + (3 + 0.5) * 2           = 10 / 12
//   random {0,1}: 3 + 3.5                     = 6.5 / 8
TEST(Summarize, LatentAurocUsesDistNormalMinusDistDefect) {
  const auto rows = summarize(hand_made(), "2.0", "2.1", nullptr, nullptr);
  EXPECT_NEAR(row(rows, "2.0").latent_auroc_vs_normal, 0.5, 1e-15);
  EXPECT_NEAR(row(rows, "2.1").latent_auroc_vs_normal, 10.0 / 12, 1e-15);
  EXPECT_NEAR(row(rows, "1.9").latent_auroc_vs_normal, 10.0 / 12, 1e-15);
  EXPECT_NEAR(row(rows, "random").latent_auroc_vs_normal, 6.5 / 8, 1e-15);
}

// The opposite sign convention would give 1 - x: guard against a swap.
TEST(Summarize, LatentScoreSignIsDefectLikeHigh) {
  std::vector<ClassScores> c(2);
  // Normal samples sit on the normal centroid, defects on the defect centroid.
  c[0] = {"2.0", {1, 1}, {0, 0}, {0.1, 0.2}, {5, 5}};
  c[1] = {"2.1", {1, 1}, {0, 0}, {5, 5}, {0.1, 0.2}};
  const auto rows = summarize(c, "2.0", "2.1", nullptr, nullptr);
  EXPECT_DOUBLE_EQ(row(rows, "2.1").latent_auroc_vs_normal, 1.0);
  EXPECT_DOUBLE_EQ(row(rows, "2.1").auroc_vs_normal, 0.5);  // equal losses: all ties
}

TEST(Summarize, NoLatentDataGivesMinusOne) {
  double loss = 0, latent = 0;
  const auto rows = summarize(hand_made(false), "2.0", "2.1", &loss, &latent);
  for (const auto& r : rows) EXPECT_EQ(r.latent_auroc_vs_normal, -1) << r.label;
  EXPECT_NEAR(loss, 6.5 / 15, 1e-15);
  EXPECT_EQ(latent, -1);
  EXPECT_NEAR(row(rows, "2.1").auroc_vs_normal, 10.5 / 12, 1e-15);
}

TEST(Summarize, MissingNormalOrDefectGivesMinusOne) {
  auto c = hand_made();
  double loss = 0, latent = 0;
  // No normal class in the list: no AUROC against it, the defect still
  // compares with the other outliers (losses only: the latent needs the normal).
  // "2.0" is then just another outlier: {3,5,7} against {1,2,3,4,2,2,7,10,20}:
  // 3 -> 4 + 0.5, 5 -> 6, 7 -> 6 + 0.5 = 17 / 27.
  auto rows = summarize(c, "", "2.1", &loss, &latent);
  for (const auto& r : rows) EXPECT_EQ(r.auroc_vs_normal, -1) << r.label;
  for (const auto& r : rows) EXPECT_EQ(r.latent_auroc_vs_normal, -1) << r.label;
  EXPECT_NEAR(loss, 17.0 / 27, 1e-15);
  EXPECT_EQ(latent, -1);
  // No defect class: the pooled comparison is unknown.
  rows = summarize(c, "2.0", "", &loss, &latent);
  EXPECT_EQ(loss, -1);
  EXPECT_EQ(latent, -1);
  EXPECT_NEAR(row(rows, "2.1").auroc_vs_normal, 10.5 / 12, 1e-15);
}

TEST(Summarize, OnlyNormalAndDefectLeavesPooledUnknown) {
  auto c = hand_made();
  c.resize(2);
  double loss = 0, latent = 0;
  const auto rows = summarize(c, "2.0", "2.1", &loss, &latent);
  EXPECT_EQ(rows.size(), 2u);
  EXPECT_EQ(loss, -1);
  EXPECT_EQ(latent, -1);
}

TEST(Summarize, RejectsInconsistentPerSampleArrays) {
  auto c = hand_made();
  c[2].dist_defect.pop_back();
  EXPECT_THROW(summarize(c, "2.0", "2.1", nullptr, nullptr), std::invalid_argument);
  c = hand_made();
  c[3].angle0.clear();
  EXPECT_THROW(summarize(c, "2.0", "2.1", nullptr, nullptr), std::invalid_argument);
}

// ------------------------------------------------------------ class_folder

TEST(ClassFolder, Names) {
  EXPECT_EQ(class_folder("2.1"), "res_dtheta=2.1");
  EXPECT_EQ(class_folder("2.0"), "res_dtheta=2.0");
  EXPECT_EQ(class_folder("-2"), "res_dtheta=-2");
  EXPECT_EQ(class_folder("0"), "res_dtheta=0");
  EXPECT_EQ(class_folder("random"), "res_random");
}

// ------------------------------------------------------------ write_report

TEST(WriteReport, HistDatPerClass) {
  cdae::testing::TempDir tmp;
  const auto dir = tmp.file("results/nested");  // created on demand
  write_report(dir, hand_made(), "2.0", "2.1");
  for (const char* folder : {"res_dtheta=2.0", "res_dtheta=2.1", "res_dtheta=1.9", "res_random"}) {
    const auto path = std::filesystem::path(dir) / folder / "hist.dat";
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    std::ifstream in(path);
    std::vector<double> edges, density;
    for (double e, d; in >> e >> d;) edges.push_back(e), density.push_back(d);
    ASSERT_EQ(edges.size(), 100u) << path;  // max(n / 10, 100) bins
    const double width = edges[1] - edges[0];
    double sum = 0;
    for (double d : density) sum += d * width;
    EXPECT_NEAR(sum, 1.0, 1e-6) << path;
  }
  // The random class's range is [10, 20]: first edge 10, width 0.1.
  std::ifstream in(std::filesystem::path(dir) / "res_random" / "hist.dat");
  std::string first;
  std::getline(in, first);
  EXPECT_EQ(first, "10.0000000000 5.0000000000");  // 1 of 2 values in a bin of width 0.1: 0.5 / 0.1
}

TEST(WriteReport, EvalH5ReadsBack) {
  cdae::testing::TempDir tmp;
  const auto dir = tmp.file("res");
  const auto classes = hand_made();
  write_report(dir, classes, "2.0", "2.1");
  cdae::io::H5File f((std::filesystem::path(dir) / "eval.h5").string(), cdae::io::H5File::Mode::read);
  EXPECT_EQ(f.attr_string("classes"), "2.0,2.1,1.9,random");
  EXPECT_EQ(f.attr_string("normal_class"), "2.0");
  EXPECT_EQ(f.attr_string("defect_class"), "2.1");
  EXPECT_EQ(f.list("/classes"), (std::vector<std::string>{"1.9", "2.0", "2.1", "random"}));
  for (const auto& c : classes) {
    const std::string g = "/classes/" + c.label + "/";
    std::vector<std::int64_t> shape;
    EXPECT_EQ(f.read_f64(g + "losses", &shape), c.losses) << c.label;
    EXPECT_EQ(shape, (std::vector<std::int64_t>{static_cast<std::int64_t>(c.losses.size())}));
    EXPECT_EQ(f.read_f64(g + "angle0"), c.angle0) << c.label;
    EXPECT_EQ(f.read_f64(g + "latent_dist_normal"), c.dist_normal) << c.label;
    EXPECT_EQ(f.read_f64(g + "latent_dist_defect"), c.dist_defect) << c.label;
  }
}

TEST(WriteReport, EvalH5WithoutLatent) {
  cdae::testing::TempDir tmp;
  const auto dir = tmp.file("res");
  write_report(dir, hand_made(false), "2.0", "2.1");
  cdae::io::H5File f((std::filesystem::path(dir) / "eval.h5").string(), cdae::io::H5File::Mode::read);
  EXPECT_TRUE(f.exists("/classes/2.1/losses"));
  EXPECT_TRUE(f.exists("/classes/2.1/angle0"));
  EXPECT_FALSE(f.exists("/classes/2.1/latent_dist_normal"));
  EXPECT_FALSE(f.exists("/classes/2.1/latent_dist_defect"));
}

TEST(WriteReport, SummaryTsv) {
  cdae::testing::TempDir tmp;
  const auto dir = tmp.file("res");
  const auto table = write_report(dir, hand_made(), "2.0", "2.1");
  const auto lines = lines_of(cdae::testing::read_file((std::filesystem::path(dir) / "summary.tsv").string()));
  ASSERT_EQ(lines.size(), 6u);  // header, 4 classes, the '#' line
  EXPECT_EQ(lines[0], "class\tn\tmedian\tp5\tp95\tauroc_vs_normal\tlatent_auroc_vs_normal");
  const std::vector<std::string> labels{"2.0", "2.1", "1.9", "random"};
  const std::vector<double> loss_auroc{0.5, 10.5 / 12, 7.0 / 12, 1.0};
  const std::vector<double> latent_auroc{0.5, 10.0 / 12, 10.0 / 12, 6.5 / 8};
  const std::vector<double> medians{2.5, 5, 2, 15};
  const std::vector<std::size_t> ns{4, 3, 3, 2};
  for (std::size_t k = 0; k < labels.size(); ++k) {
    const auto f = split_tabs(lines[k + 1]);
    ASSERT_EQ(f.size(), 7u) << lines[k + 1];
    EXPECT_EQ(f[0], labels[k]);
    EXPECT_EQ(std::stoul(f[1]), ns[k]);
    EXPECT_NEAR(std::stod(f[2]), medians[k], 1e-9);
    EXPECT_NEAR(std::stod(f[5]), loss_auroc[k], 5e-5) << f[5];  // printed with 4 decimals
    EXPECT_NEAR(std::stod(f[6]), latent_auroc[k], 5e-5) << f[6];
  }
  EXPECT_EQ(lines[5], "# defect 2.1 vs all other outliers: auroc_loss 0.4333 auroc_latent 0.6667");
  // The stdout table marks the normal and the defect.
  EXPECT_NE(table.find("(normal)"), std::string::npos);
  EXPECT_NE(table.find("(defect)"), std::string::npos);
  EXPECT_NE(table.find("AUROC(loss) 0.4333, AUROC(latent) 0.6667"), std::string::npos) << table;
}

TEST(WriteReport, SummaryTsvNaWithoutLatent) {
  cdae::testing::TempDir tmp;
  const auto dir = tmp.file("res");
  write_report(dir, hand_made(false), "2.0", "2.1");
  const auto lines = lines_of(cdae::testing::read_file((std::filesystem::path(dir) / "summary.tsv").string()));
  ASSERT_EQ(lines.size(), 6u);
  for (std::size_t k = 1; k <= 4; ++k) {
    const auto f = split_tabs(lines[k]);
    ASSERT_EQ(f.size(), 7u);
    EXPECT_NE(f[5], "n/a");
    EXPECT_EQ(f[6], "n/a");
  }
  EXPECT_EQ(lines[5], "# defect 2.1 vs all other outliers: auroc_loss 0.4333 auroc_latent n/a");
}

TEST(WriteReport, RewritesPreviousResults) {
  cdae::testing::TempDir tmp;
  const auto dir = tmp.file("res");
  write_report(dir, hand_made(), "2.0", "2.1");
  auto c = hand_made();
  c.resize(2);
  write_report(dir, c, "2.0", "2.1");
  cdae::io::H5File f((std::filesystem::path(dir) / "eval.h5").string(), cdae::io::H5File::Mode::read);
  EXPECT_EQ(f.attr_string("classes"), "2.0,2.1");
  EXPECT_EQ(lines_of(cdae::testing::read_file((std::filesystem::path(dir) / "summary.tsv").string())).size(), 4u);
}

}  // namespace
