// The report of scoring an HDF5 dataset split (eval/dataset_report.h) on
// hand-made scores: average precision, both threshold rules, flags.tsv, the
// per-class and aggregate summary, scores.h5, hist.tsv and top_k.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "eval/dataset_report.h"
#include "eval/metrics.h"
#include "io/hdf5_file.h"
#include "../support/text.h"
#include "../support/temp_dir.h"

using cdae::testing::lines_of;
using cdae::testing::split_tabs;

namespace {

using namespace cdae::eval;

// Nine samples of four classes, interleaved as a dataset would hold them.
//
//   k  index label class   loss  dn  dd  latent = dn - dd
//   0   100    0   normal     1   1   3  -2
//   1   101    1   defect     5   3   1   2
//   2   102    2   shirt    3.5   1   1   0
//   3   103    0   normal     2   1   3  -2
//   4   104    3   boot      20   4   1   3
//   5   105    0   normal     3   1   3  -2
//   6   106    1   defect     6   3   1   2
//   7   107    2   shirt     10   2   3  -1
//   8   108    0   normal     4   2   2   0
//
// With the threshold 4.5, samples 1, 4, 6 and 7 are flagged.
DatasetScores hand_made(bool with_latent = true) {
  DatasetScores s;
  s.index = {100, 101, 102, 103, 104, 105, 106, 107, 108};
  s.label = {0, 1, 2, 0, 3, 0, 1, 2, 0};
  s.loss = {1, 5, 3.5, 2, 20, 3, 6, 10, 4};
  if (with_latent) {
    s.dist_normal = {1, 3, 1, 1, 4, 1, 3, 2, 2};
    s.dist_defect = {3, 1, 1, 3, 1, 3, 1, 3, 2};
  }
  s.class_names = {"normal", "defect", "shirt", "boot"};
  s.dataset = "fmnist.h5";
  s.split = "test";
  return s;
}

Threshold at(double value) { return Threshold{value, "test rule"}; }


const DatasetSummaryRow& row(const std::vector<DatasetSummaryRow>& rows, const std::string& name) {
  for (const auto& r : rows)
    if (r.name == name) return r;
  throw std::runtime_error("no summary row '" + name + "'");
}

// Checks that `call` throws std::invalid_argument mentioning `part`.
template <typename F>
void expect_invalid(F&& call, const std::string& part) {
  try {
    call();
    ADD_FAILURE() << "expected std::invalid_argument mentioning '" << part << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------ average_precision

TEST(AveragePrecision, PerfectRankingIsOne) {
  EXPECT_DOUBLE_EQ(average_precision({3, 4}, {1, 2}), 1.0);
  EXPECT_DOUBLE_EQ(average_precision({10}, {1, 2, 3}), 1.0);
}

// The positive ranked last among three: one threshold with recall > 0, precision 1/3.
TEST(AveragePrecision, WorstRanking) { EXPECT_DOUBLE_EQ(average_precision({1}, {2, 3}), 1.0 / 3); }

// y_true {1,0,1,1,0}, scores {0.9,0.8,0.7,0.4,0.5}: by descending score
// 0.9 P (P=1, R=1/3), 0.8 N, 0.7 P (P=2/3, R=2/3), 0.5 N, 0.4 P (P=3/5, R=1):
// AP = 1/3 * 1 + 1/3 * 2/3 + 1/3 * 3/5 = 34/45 (sklearn: 0.7555...).
TEST(AveragePrecision, WorkedFiveSampleExample) {
  EXPECT_NEAR(average_precision({0.9, 0.7, 0.4}, {0.8, 0.5}), 34.0 / 45, 1e-12);
  // Input order does not matter.
  EXPECT_NEAR(average_precision({0.4, 0.9, 0.7}, {0.5, 0.8}), 34.0 / 45, 1e-12);
}

// Tied scores are one threshold: {0.5, 0.5} vs {0.5} gives one point P = 2/3,
// R = 1. Positives first would give 1, negatives first 7/12.
TEST(AveragePrecision, TiesFormOneThreshold) {
  EXPECT_NEAR(average_precision({0.5, 0.5}, {0.5}), 2.0 / 3, 1e-12);
  // 1 P (P=1, R=1/2); 0.5 P and N together (P=2/3, R=1); 0 N (no recall step).
  EXPECT_NEAR(average_precision({1, 0.5}, {0.5, 0}), 0.5 + 0.5 * 2.0 / 3, 1e-12);
}

TEST(AveragePrecision, NoNegativesIsOneAndNoPositivesThrows) {
  EXPECT_DOUBLE_EQ(average_precision({1, 2}, {}), 1.0);
  expect_invalid([] { average_precision({}, {1}); }, "positive");
  expect_invalid([] { average_precision({1, std::nan("")}, {1}); }, "NaN");
}

// ------------------------------------------------------------ thresholds

TEST(Threshold, NormalQuantile) {
  const auto t = threshold_from_normal_quantile({4, 1, 3, 2}, 0.5);
  EXPECT_DOUBLE_EQ(t.value, 2.5);
  EXPECT_NE(t.rule.find("0.5-quantile"), std::string::npos) << t.rule;
  EXPECT_NE(t.rule.find("4 normal validation"), std::string::npos) << t.rule;
  EXPECT_NEAR(threshold_from_normal_quantile({1, 2, 3, 4}, 0.95).value, 3.85, 1e-12);  // 3 + 0.85
  EXPECT_EQ(t.rule.find('\n'), std::string::npos);
}

TEST(Threshold, NormalQuantileRejectsBadInput) {
  expect_invalid([] { threshold_from_normal_quantile({1, 2}, 1.5); }, "1.5");
  expect_invalid([] { threshold_from_normal_quantile({}, 0.95); }, "no normal validation scores");
  expect_invalid([] { threshold_from_normal_quantile({1, std::nan("")}, 0.95); }, "score 1");
}

TEST(Threshold, ContaminationFlagsTheTopFraction) {
  const std::vector<double> scores{3, 1, 4, 1.5, 9, 2.6, 5, 8};
  const auto t = threshold_from_contamination(scores, 0.25);
  std::vector<double> flagged;
  for (double v : scores)
    if (v > t.value) flagged.push_back(v);
  EXPECT_EQ(flagged, (std::vector<double>{9, 8}));
  EXPECT_DOUBLE_EQ(t.value, 5 + 0.25 * 3);  // 75th percentile: index 5.25 of {1,1.5,2.6,3,4,5,8,9}
  EXPECT_NE(t.rule.find("contamination 0.25"), std::string::npos) << t.rule;
  EXPECT_NE(t.rule.find("8 scored samples"), std::string::npos) << t.rule;
}

TEST(Threshold, ContaminationRejectsBadInput) {
  expect_invalid([] { threshold_from_contamination({1, 2}, 0); }, "(0, 1)");
  expect_invalid([] { threshold_from_contamination({1, 2}, 1); }, "(0, 1)");
  expect_invalid([] { threshold_from_contamination({}, 0.1); }, "no scores");
}

// ------------------------------------------------------------ flags.tsv

TEST(FlagsTsv, HeaderAndRows) {
  cdae::testing::TempDir tmp;
  const auto path = tmp.file("flags.tsv");
  const auto s = hand_made();
  write_flags_tsv(path, s, at(4.5));
  const auto lines = lines_of(cdae::testing::read_file(path));
  ASSERT_EQ(lines.size(), 6u + 9u);
  EXPECT_EQ(lines[0], "# dataset: fmnist.h5");
  EXPECT_EQ(lines[1], "# split: test");
  EXPECT_EQ(lines[2], "# rule: test rule");
  EXPECT_EQ(lines[3], "# threshold: 4.5");
  EXPECT_EQ(lines[4], "# flagged: 4 of 9");
  EXPECT_EQ(lines[5], "index\tlabel\tclass\tscore\tflag");
  EXPECT_EQ(lines[6], "100\t0\tnormal\t1\t0");
  EXPECT_EQ(lines[8], "102\t2\tshirt\t3.5\t0");
  EXPECT_EQ(lines[10], "104\t3\tboot\t20\t1");
  for (std::size_t k = 0; k < 9; ++k) {
    const auto f = split_tabs(lines[6 + k]);
    ASSERT_EQ(f.size(), 5u) << lines[6 + k];
    EXPECT_EQ(std::stoll(f[0]), s.index[k]);
    EXPECT_EQ(std::stoll(f[1]), s.label[k]);
    EXPECT_EQ(f[4], s.loss[k] > 4.5 ? "1" : "0") << lines[6 + k];
  }
}

TEST(FlagsTsv, UnknownLabelsAndScoreFormat) {
  cdae::testing::TempDir tmp;
  const auto path = tmp.file("flags.tsv");
  DatasetScores s;
  s.index = {7, 3};
  s.label = {-1, 5};  // 5: beyond the named classes
  s.loss = {1.23456789, 0.000123456789};
  s.class_names = {"normal", "defect"};
  write_flags_tsv(path, s, at(1.0));
  const auto lines = lines_of(cdae::testing::read_file(path));
  ASSERT_EQ(lines.size(), 6u);  // no dataset/split lines
  EXPECT_EQ(lines[0], "# rule: test rule");
  EXPECT_EQ(lines[2], "# flagged: 1 of 2");
  EXPECT_EQ(lines[4], "7\t-1\t\t1.23457\t1");
  EXPECT_EQ(lines[5], "3\t5\tlabel_5\t0.000123457\t0");
}

TEST(FlagsTsv, RejectsMismatchedArrays) {
  cdae::testing::TempDir tmp;
  auto s = hand_made();
  s.index.pop_back();
  expect_invalid([&] { write_flags_tsv(tmp.file("f.tsv"), s, at(1)); }, "index has 8 values for 9 losses");
  s = hand_made();
  s.dist_defect.pop_back();
  expect_invalid([&] { write_flags_tsv(tmp.file("f.tsv"), s, at(1)); }, "dist_defect");
  EXPECT_FALSE(std::filesystem::exists(tmp.file("f.tsv")));
}

// ------------------------------------------------------------ summarize_dataset

TEST(SummarizeDataset, RowsCountsAndFlagged) {
  const auto rows = summarize_dataset(hand_made(), at(4.5));
  ASSERT_EQ(rows.size(), 6u);
  const std::vector<std::string> names{"normal", "defect", "shirt", "boot", "all anomalies", "unseen anomalies"};
  const std::vector<std::int64_t> labels{0, 1, 2, 3, 1, 2};
  const std::vector<std::size_t> ns{4, 2, 2, 1, 5, 3};
  const std::vector<std::size_t> flagged{0, 2, 1, 1, 4, 2};
  for (std::size_t k = 0; k < rows.size(); ++k) {
    EXPECT_EQ(rows[k].name, names[k]);
    EXPECT_EQ(rows[k].label, labels[k]) << names[k];
    EXPECT_EQ(rows[k].aggregate, k >= 4) << names[k];
    EXPECT_EQ(rows[k].n, ns[k]) << names[k];
    EXPECT_EQ(rows[k].flagged, flagged[k]) << names[k];
  }
  EXPECT_DOUBLE_EQ(row(rows, "normal").median, 2.5);
  EXPECT_NEAR(row(rows, "normal").p95, 3.85, 1e-12);
  EXPECT_DOUBLE_EQ(row(rows, "unseen anomalies").median, 10);
}

// Loss against the normal {1,2,3,4}:
//   defect {5,6}, boot {20}: perfectly separated, AUROC = AP = 1;
//   shirt {3.5,10}: AUROC (3 + 4) / 8; AP: 10 P (P=1), 4 N, 3.5 P (P=2/3) -> 5/6;
//   all {5,6,3.5,10,20}: AUROC 19/20; AP (4 * 1 + 5/6) / 5 = 29/30;
//   unseen {3.5,10,20}: AUROC 11/12; AP (2 * 1 + 3/4) / 3 = 11/12.
TEST(SummarizeDataset, LossAurocAndAveragePrecision) {
  const auto rows = summarize_dataset(hand_made(), at(4.5));
  EXPECT_EQ(row(rows, "normal").auroc_vs_normal, -1);
  EXPECT_EQ(row(rows, "normal").ap_vs_normal, -1);
  EXPECT_DOUBLE_EQ(row(rows, "defect").auroc_vs_normal, 1.0);
  EXPECT_DOUBLE_EQ(row(rows, "defect").ap_vs_normal, 1.0);
  EXPECT_DOUBLE_EQ(row(rows, "boot").auroc_vs_normal, 1.0);
  EXPECT_NEAR(row(rows, "shirt").auroc_vs_normal, 7.0 / 8, 1e-12);
  EXPECT_NEAR(row(rows, "shirt").ap_vs_normal, 5.0 / 6, 1e-12);
  EXPECT_NEAR(row(rows, "all anomalies").auroc_vs_normal, 19.0 / 20, 1e-12);
  EXPECT_NEAR(row(rows, "all anomalies").ap_vs_normal, 29.0 / 30, 1e-12);
  // Would be 0.95 / 29/30 if the known defect leaked into the unseen aggregate.
  EXPECT_NEAR(row(rows, "unseen anomalies").auroc_vs_normal, 11.0 / 12, 1e-12);
  EXPECT_NEAR(row(rows, "unseen anomalies").ap_vs_normal, 11.0 / 12, 1e-12);
}

// Latent score against the normal's {-2,-2,-2,0}: defect {2,2} 1; shirt {0,-1}
// (3.5 + 3) / 8; boot 1; all {2,2,0,-1,3} 18.5 / 20; unseen {0,-1,3} 10.5 / 12.
TEST(SummarizeDataset, LatentAuroc) {
  const auto rows = summarize_dataset(hand_made(), at(4.5));
  EXPECT_EQ(row(rows, "normal").latent_auroc_vs_normal, -1);
  EXPECT_DOUBLE_EQ(row(rows, "defect").latent_auroc_vs_normal, 1.0);
  EXPECT_NEAR(row(rows, "shirt").latent_auroc_vs_normal, 6.5 / 8, 1e-12);
  EXPECT_NEAR(row(rows, "all anomalies").latent_auroc_vs_normal, 18.5 / 20, 1e-12);
  EXPECT_NEAR(row(rows, "unseen anomalies").latent_auroc_vs_normal, 10.5 / 12, 1e-12);
  for (const auto& r : summarize_dataset(hand_made(false), at(4.5))) EXPECT_EQ(r.latent_auroc_vs_normal, -1) << r.name;
}

TEST(SummarizeDataset, OnlyKnownDefectHasNoUnseenAggregate) {
  auto s = hand_made();
  s.index.resize(4), s.label.resize(4), s.loss.resize(4), s.dist_normal.resize(4), s.dist_defect.resize(4);
  s.label = {0, 1, 0, 1};
  const auto rows = summarize_dataset(s, at(4.5));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2].name, "all anomalies");
  EXPECT_EQ(rows[2].n, 2u);
}

TEST(SummarizeDataset, UnknownLabelsAndNoNormal) {
  DatasetScores s;
  s.index = {0, 1, 2, 3};
  s.label = {-1, 2, -7, 2};
  s.loss = {1, 2, 3, 4};
  const auto rows = summarize_dataset(s, at(2.5));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].name, "label_2");
  EXPECT_EQ(rows[0].n, 2u);
  EXPECT_EQ(rows[1].name, "unlabelled");
  EXPECT_EQ(rows[1].label, -1);
  EXPECT_EQ(rows[1].n, 2u);  // -1 and -7
  EXPECT_EQ(rows[1].flagged, 1u);
  EXPECT_EQ(rows[2].name, "all anomalies");
  EXPECT_EQ(rows[3].name, "unseen anomalies");
  for (const auto& r : rows) EXPECT_EQ(r.auroc_vs_normal, -1) << r.name;  // no normal samples
  for (const auto& r : rows) EXPECT_EQ(r.ap_vs_normal, -1) << r.name;

  s.label.clear();  // an unlabelled dataset: one row
  const auto unlabelled = summarize_dataset(s, at(2.5));
  ASSERT_EQ(unlabelled.size(), 1u);
  EXPECT_EQ(unlabelled[0].name, "unlabelled");
  EXPECT_EQ(unlabelled[0].n, 4u);
  EXPECT_EQ(unlabelled[0].flagged, 2u);
}

TEST(DatasetSummary, TsvAndTable) {
  cdae::testing::TempDir tmp;
  const auto path = tmp.file("summary.tsv");
  const auto table = write_dataset_summary(path, summarize_dataset(hand_made(), at(4.5)));
  const auto lines = lines_of(cdae::testing::read_file(path));
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], "class\tlabel\tn\tmedian\tp95\tauroc_vs_normal\tap_vs_normal\tlatent_auroc_vs_normal\tflagged");
  EXPECT_EQ(lines[1], "normal\t0\t4\t2.5\t3.85\tn/a\tn/a\tn/a\t0");
  EXPECT_EQ(lines[3], "shirt\t2\t2\t6.75\t9.675\t0.8750\t0.8333\t0.8125\t1");
  EXPECT_EQ(split_tabs(lines[5])[1], ">=1");
  EXPECT_EQ(split_tabs(lines[6])[0], "unseen anomalies");
  EXPECT_EQ(split_tabs(lines[6])[1], ">=2");
  const auto table_lines = lines_of(table);
  ASSERT_EQ(table_lines.size(), 7u);
  EXPECT_NE(table_lines[0].find("AUROC(loss)"), std::string::npos);
  // Aligned: every line as wide as the header.
  for (const auto& l : table_lines) EXPECT_EQ(l.size(), table_lines[0].size()) << l;
  EXPECT_NE(table_lines[6].find("unseen anomalies"), std::string::npos);
}

// ------------------------------------------------------------ scores.h5

TEST(ScoresH5, DatasetsAndAttributes) {
  cdae::testing::TempDir tmp;
  const auto path = tmp.file("scores.h5");
  const auto s = hand_made();
  write_scores_h5(path, s, Threshold{4.5, "score > 0.95-quantile"});
  cdae::io::H5File f(path, cdae::io::H5File::Mode::read);
  std::vector<std::int64_t> shape;
  EXPECT_EQ(f.read_i64("index", &shape), s.index);
  EXPECT_EQ(shape, (std::vector<std::int64_t>{9}));
  EXPECT_TRUE(f.is_integer("index"));
  EXPECT_TRUE(f.is_integer("label"));
  EXPECT_FALSE(f.is_integer("loss"));
  EXPECT_EQ(f.read_i64("label"), s.label);
  EXPECT_EQ(f.read_f64("loss"), s.loss);
  EXPECT_EQ(f.read_f64("latent_dist_normal"), s.dist_normal);
  EXPECT_EQ(f.read_f64("latent_dist_defect"), s.dist_defect);
  EXPECT_EQ(f.attr_string("class_names"), "normal,defect,shirt,boot");
  EXPECT_EQ(f.attr_f64("threshold"), 4.5);
  EXPECT_EQ(f.attr_string("threshold_rule"), "score > 0.95-quantile");
  EXPECT_EQ(f.attr_string("dataset"), "fmnist.h5");
  EXPECT_EQ(f.attr_string("split"), "test");
}

TEST(ScoresH5, WithoutLatentOrLabels) {
  cdae::testing::TempDir tmp;
  const auto path = tmp.file("scores.h5");
  auto s = hand_made(false);
  s.label.clear();
  s.dataset.clear();
  write_scores_h5(path, s, at(1));
  cdae::io::H5File f(path, cdae::io::H5File::Mode::read);
  EXPECT_FALSE(f.exists("latent_dist_normal"));
  EXPECT_FALSE(f.exists("latent_dist_defect"));
  EXPECT_EQ(f.read_i64("label"), std::vector<std::int64_t>(9, -1));
  EXPECT_FALSE(f.has_attr("dataset"));
  EXPECT_TRUE(f.has_attr("split"));
}

// ------------------------------------------------------------ hist.tsv

struct HistFile {
  std::vector<std::string> comments, columns;
  std::vector<double> left_edges;
  std::vector<std::vector<double>> density;  // [column][bin]
  double right_edge = 0;
};

HistFile read_hist(const std::string& path) {
  HistFile h;
  for (const auto& line : lines_of(cdae::testing::read_file(path))) {
    if (line.rfind("#", 0) == 0) {
      h.comments.push_back(line);
      if (line.rfind("# right_edge ", 0) == 0) h.right_edge = std::stod(line.substr(13));
    } else if (h.columns.empty()) {
      h.columns = split_tabs(line);
      h.density.resize(h.columns.size() - 1);
    } else {
      const auto f = split_tabs(line);
      EXPECT_EQ(f.size(), h.columns.size()) << line;
      h.left_edges.push_back(std::stod(f[0]));
      for (std::size_t c = 1; c < f.size(); ++c) h.density[c - 1].push_back(std::stod(f[c]));
    }
  }
  return h;
}

double integral(const HistFile& h, std::size_t column) {
  double sum = 0;
  for (std::size_t i = 0; i < h.left_edges.size(); ++i) {
    const double right = i + 1 < h.left_edges.size() ? h.left_edges[i + 1] : h.right_edge;
    sum += h.density[column][i] * (right - h.left_edges[i]);
  }
  return sum;
}

TEST(ScoreHistograms, LinearColumnsOnCommonBins) {
  cdae::testing::TempDir tmp;
  const auto path = tmp.file("hist.tsv");
  write_score_histograms(path, hand_made());
  const auto h = read_hist(path);
  EXPECT_EQ(h.comments, (std::vector<std::string>{"# dataset: fmnist.h5", "# split: test", "# binning linear",
                                                  "# right_edge 20"}));
  EXPECT_EQ(h.columns, (std::vector<std::string>{"left_edge", "normal", "defect", "shirt", "boot"}));
  ASSERT_EQ(h.left_edges.size(), static_cast<std::size_t>(kScoreHistogramBins));
  EXPECT_DOUBLE_EQ(h.left_edges[0], 1.0);  // the minimum of all scores
  const double width = 19.0 / kScoreHistogramBins;
  EXPECT_NEAR(h.left_edges[1], 1 + width, 1e-9);
  for (std::size_t c = 0; c < 4; ++c) EXPECT_NEAR(integral(h, c), 1.0, 1e-9) << h.columns[c + 1];
  // boot's single score 20 is the maximum: the last bin, closed on the right.
  EXPECT_NEAR(h.density[3].back(), 1.0 / width, 1e-6);
  // normal {1,2,3,4}: one quarter in the first bin, none in the last.
  EXPECT_NEAR(h.density[0][0], 0.25 / width, 1e-6);
  EXPECT_EQ(h.density[0].back(), 0.0);
}

TEST(ScoreHistograms, LogBinsWhenScoresSpanDecades) {
  cdae::testing::TempDir tmp;
  const auto path = tmp.file("hist.tsv");
  DatasetScores s;
  s.index = {0, 1, 2, 3, 4};
  s.label = {0, 0, 1, -1, 2};
  s.loss = {0.01, 0.1, 1, 10, 5};
  write_score_histograms(path, s);
  const auto h = read_hist(path);
  EXPECT_EQ(h.comments[0], "# binning log");
  EXPECT_DOUBLE_EQ(h.right_edge, 10);
  EXPECT_EQ(h.columns, (std::vector<std::string>{"left_edge", "label_0", "label_1", "label_2", "unlabelled"}));
  EXPECT_DOUBLE_EQ(h.left_edges[0], 0.01);
  const double ratio = std::pow(1000.0, 1.0 / kScoreHistogramBins);
  for (std::size_t i = 0; i + 1 < h.left_edges.size(); ++i)
    EXPECT_NEAR(h.left_edges[i + 1] / h.left_edges[i], ratio, 1e-6) << i;
  for (std::size_t c = 0; c < 4; ++c) EXPECT_NEAR(integral(h, c), 1.0, 1e-6) << h.columns[c + 1];
  EXPECT_GT(h.density[3].back(), 0.0);  // the unlabelled 10, in the last bin
}

TEST(ScoreHistograms, ConstantScoresAndNonFinite) {
  cdae::testing::TempDir tmp;
  DatasetScores s;
  s.index = {0, 1};
  s.label = {0, 0};
  s.loss = {2, 2};
  write_score_histograms(tmp.file("hist.tsv"), s);
  const auto h = read_hist(tmp.file("hist.tsv"));
  EXPECT_DOUBLE_EQ(h.left_edges[0], 1.5);  // numpy's range for constant data
  EXPECT_DOUBLE_EQ(h.right_edge, 2.5);
  EXPECT_NEAR(integral(h, 0), 1.0, 1e-9);
  s.loss[1] = std::numeric_limits<double>::infinity();
  expect_invalid([&] { write_score_histograms(tmp.file("bad.tsv"), s); }, "score 1");
}

// ------------------------------------------------------------ top_k

TEST(TopK, HighestFirstTiesInIndexOrder) {
  const std::vector<double> scores{0.5, 3, 1, 3, 7};
  EXPECT_EQ(top_k(scores, 3), (std::vector<std::size_t>{4, 1, 3}));
  EXPECT_EQ(top_k(scores, 1), (std::vector<std::size_t>{4}));
  EXPECT_EQ(top_k(scores, 10), (std::vector<std::size_t>{4, 1, 3, 2, 0}));
  EXPECT_TRUE(top_k(scores, 0).empty());
  EXPECT_TRUE(top_k({}, 3).empty());
  expect_invalid([] { top_k({1, std::nan("")}, 1); }, "score 1 is NaN");
}

}  // namespace
