// Statistics of per-sample losses: the reference histogram, percentiles and
// AUROC. Torch-free.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace cdae::eval {

// numpy.histogram(values, bins, density=True) semantics: equal bins between
// min and max (min-0.5 .. max+0.5 when all values are equal), the last bin
// closed on the right; density = count / (n * bin_width).
struct DensityHistogram {
  std::vector<double> left_edges;
  std::vector<double> density;
  double bin_width = 0.0;
};
DensityHistogram density_histogram(const std::vector<double>& values, int bins);

// The reference binning: max(n / 10, 100) bins.
int reference_bin_count(std::size_t n_values);

// hist.dat: one line per bin, "left_edge density", both "%.10f".
void write_hist_dat(const std::string& path, const DensityHistogram& hist);

// numpy.percentile (linear interpolation), q in [0, 100]. Throws on empty input.
double percentile(std::vector<double> values, double q);

// Area under the ROC curve for "positive scores are higher":
// P(pos > neg) + 0.5 P(pos == neg). Throws if either side is empty.
double auroc(const std::vector<double>& positive, const std::vector<double>& negative);

// Average precision for "positive scores are higher": the step-wise area
// under the precision-recall curve, sum over thresholds of
// (recall_k - recall_{k-1}) * precision_k, tied scores taken together
// (sklearn.metrics.average_precision_score). Throws if positive is empty.
double average_precision(const std::vector<double>& positive, const std::vector<double>& negative);

}  // namespace cdae::eval
