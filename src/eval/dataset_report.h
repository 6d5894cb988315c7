// The report of scoring one split of an HDF5 dataset (docs/datasets.md) with
// `cdae-infer`: a threshold rule, the flagged samples (flags.tsv), every
// per-sample value (scores.h5), a per-class summary with AUROC and average
// precision (summary.tsv and a table for stdout), and the per-class score
// densities on common bins (hist.tsv, plotted by python/plot_scores.py).
// Torch-free.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::eval {

// Per-sample results of scoring one split of a dataset, in dataset order.
struct DatasetScores {
  std::vector<std::int64_t> index;       // row in the dataset file
  std::vector<std::int64_t> label;       // 0 normal, 1 known defect, >= 2 other classes; -1 (or empty: all) unknown
  std::vector<double> loss;              // recovery loss (the score flagged)
  std::vector<double> dist_normal;       // latent distance to the normal centroid (may be empty)
  std::vector<double> dist_defect;       // to the defect centroid (empty together with dist_normal)
  std::vector<std::string> class_names;  // by label value; missing names read "label_<n>"
  std::string dataset;                   // optional, for titles: the dataset file's name
  std::string split;                     // optional: "train", "val" or "test"
};

// The samples whose score is strictly above `value` are flagged.
struct Threshold {
  double value = 0;
  std::string rule;  // one line for the file headers
};

// Flag above the q-quantile (numpy percentile, linear) of the normal
// validation scores, q in [0, 1], e.g. 0.95 flags about 5% of normal samples.
Threshold threshold_from_normal_quantile(const std::vector<double>& normal_val_scores, double q);

// Flag the top fraction r in (0, 1) of the scored samples (the expected
// contamination ratio): the (1 - r)-quantile of `scores` as PyOD sets it, so
// 8 distinct scores with r = 0.25 flag exactly 2. Ties at the threshold are
// all left unflagged.
Threshold threshold_from_contamination(const std::vector<double>& scores, double r);

// The class name of a label: class_names[label], "label_<n>" when the file
// names fewer classes, "" when the label is unknown (< 0).
std::string class_name(const DatasetScores& s, std::int64_t label);

// flags.tsv: '#' lines (dataset and split when known, the rule, the threshold
// "%.17g", "flagged: K of N"), the column header "index\tlabel\tclass\tscore\tflag",
// then one row per sample in dataset order (label -1 and class "" when
// unknown; score "%.6g"; flag 1 when score > threshold). Written atomically.
void write_flags_tsv(const std::string& path, const DatasetScores& s, const Threshold& t);

// One row of the summary: a class or an aggregate of classes.
struct DatasetSummaryRow {
  std::string name;
  std::int64_t label = 0;  // the class's label; for aggregates the smallest label included (1 or 2)
  bool aggregate = false;  // "all anomalies" (labels >= 1) or "unseen anomalies" (labels >= 2)
  std::size_t n = 0;
  double median = 0, p95 = 0;                // of the loss
  double auroc_vs_normal = -1;               // loss score against label 0; -1 when not computable
  double ap_vs_normal = -1;                  // average precision, same convention
  double latent_auroc_vs_normal = -1;        // score dist_normal - dist_defect; -1 if unknown
  std::size_t flagged = 0;                   // loss > threshold
};

// Rows: every class present in label order, then "unlabelled" (label -1) when
// some labels are unknown, then the aggregates "all anomalies" (labels >= 1,
// when present) and "unseen anomalies" (labels >= 2, the classes never
// labelled in training, when present). The known defect alone is its class row
// (label 1). The normal row and the unlabelled row have no AUROC/AP (-1).
std::vector<DatasetSummaryRow> summarize_dataset(const DatasetScores& s, const Threshold& t);

// summary.tsv: header "class\tlabel\tn\tmedian\tp95\tauroc_vs_normal\tap_vs_normal\t
// latent_auroc_vs_normal\tflagged" (label ">=1"/">=2" for aggregates, "n/a" for
// -1), written atomically; returns the same table as aligned text for stdout.
std::string write_dataset_summary(const std::string& path, const std::vector<DatasetSummaryRow>& rows);

// scores.h5: /index (int64), /label (int64, -1 unknown), /loss (f64),
// /latent_dist_normal and /latent_dist_defect (f64, when present); root
// attributes class_names (comma-joined), threshold (f64), threshold_rule, and
// dataset and split when known. Written atomically.
void write_scores_h5(const std::string& path, const DatasetScores& s, const Threshold& t);

// Bins of hist.tsv: kScoreHistogramBins equal bins between the min and max of
// all scores, log-spaced instead when every score is positive and they span
// more than two decades (linear bins would squeeze the normal class into the
// first bin). 50 rather than the reference's max(n/10, 100): an overlay of
// several classes, some of a few dozen samples, reads better with fewer bins.
constexpr int kScoreHistogramBins = 50;

// hist.tsv for the overlay plot: '#' lines "# binning linear|log",
// "# right_edge <last edge>" (and "# dataset: ..." when known), then the
// column header "left_edge" and one column per class present (as
// summarize_dataset names them, "unlabelled" included), then one line per bin:
// the left edge and each class's density (count / (n_class * bin width), so
// each column integrates to 1 over the bins). Written atomically.
void write_score_histograms(const std::string& path, const DatasetScores& s);

// Indices into `scores` (not dataset rows) of the k highest scores, highest
// first, ties in index order; all of them when k exceeds the size. Throws on NaN.
std::vector<std::size_t> top_k(const std::vector<double>& scores, std::size_t k);

}  // namespace cdae::eval
