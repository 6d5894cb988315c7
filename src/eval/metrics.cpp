#include "eval/metrics.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

namespace cdae::eval {
namespace {

void require_finite(const std::vector<double>& values, const char* what) {
  for (double v : values) {
    if (!std::isfinite(v)) throw std::invalid_argument(std::string(what) + ": values contain NaN or infinity");
  }
}

// numpy.linspace(start, stop, num): start + i * step, the last point set to
// stop exactly so rounding never leaves the maximum outside the range.
std::vector<double> linspace(double start, double stop, int num) {
  std::vector<double> points(static_cast<std::size_t>(num));
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) points[static_cast<std::size_t>(i)] = start + i * step;
  points.back() = stop;
  return points;
}

// numpy's uniform-bin search: the index from the scaled offset, then a one
// step correction against the actual edges, which rounding can disagree with.
int bin_index(double value, const std::vector<double>& edges, double first, double range, int bins) {
  auto index = static_cast<long long>((value - first) / range * bins);
  index = std::clamp<long long>(index, 0, bins - 1);
  if (value < edges[static_cast<std::size_t>(index)]) --index;
  else if (index != bins - 1 && value >= edges[static_cast<std::size_t>(index) + 1]) ++index;
  return static_cast<int>(index);
}

// numpy's _lerp: computed from whichever end is nearer so the result is
// monotonic in t and exact at t = 1.
double lerp(double a, double b, double t) {
  const double diff = b - a;
  return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

}  // namespace

DensityHistogram density_histogram(const std::vector<double>& values, int bins) {
  if (bins < 1) throw std::invalid_argument("density_histogram: bins must be >= 1, got " + std::to_string(bins));
  if (values.empty()) throw std::invalid_argument("density_histogram: no values");
  require_finite(values, "density_histogram");

  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  double first = *lo;
  double last = *hi;
  if (first == last) {
    first -= 0.5;
    last += 0.5;
  }
  const std::vector<double> edges = linspace(first, last, bins + 1);

  std::vector<std::size_t> counts(static_cast<std::size_t>(bins), 0);
  for (double v : values) ++counts[static_cast<std::size_t>(bin_index(v, edges, first, last - first, bins))];

  DensityHistogram hist;
  hist.bin_width = (last - first) / bins;
  hist.left_edges.assign(edges.begin(), edges.end() - 1);
  hist.density.resize(counts.size());
  // numpy divides by each bin's own width (np.diff(edges)), which differs from
  // the nominal width in the last bits.
  const double n = static_cast<double>(values.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    hist.density[i] = static_cast<double>(counts[i]) / (edges[i + 1] - edges[i]) / n;
  }
  return hist;
}

int reference_bin_count(std::size_t n_values) {
  const std::size_t bins = std::max<std::size_t>(n_values / 10, 100);
  return static_cast<int>(std::min<std::size_t>(bins, static_cast<std::size_t>(std::numeric_limits<int>::max())));
}

void write_hist_dat(const std::string& path, const DensityHistogram& hist) {
  if (hist.left_edges.size() != hist.density.size()) {
    throw std::invalid_argument("write_hist_dat '" + path + "': edges and densities differ in length");
  }
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
  for (std::size_t i = 0; i < hist.density.size(); ++i) {
    std::fprintf(file, "%.10f %.10f\n", hist.left_edges[i], hist.density[i]);
  }
  const bool write_failed = std::ferror(file) != 0;
  const bool close_failed = std::fclose(file) != 0;
  if (write_failed || close_failed) {
    throw std::runtime_error("cannot write '" + path + "': " + std::strerror(errno));
  }
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("percentile: no values");
  if (!(q >= 0.0 && q <= 100.0)) throw std::invalid_argument("percentile: q must be in [0, 100]");
  // numpy propagates NaN; sorting with NaN would be undefined behaviour.
  for (double v : values) {
    if (std::isnan(v)) return std::numeric_limits<double>::quiet_NaN();
  }
  const double index = (q / 100.0) * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(index));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  // Only the two order statistics are needed; nth_element is O(n).
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(below), values.end());
  const double lower = values[below];
  double upper = lower;
  if (above != below) upper = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(above), values.end());
  return lerp(lower, upper, index - static_cast<double>(below));
}

double auroc(const std::vector<double>& positive, const std::vector<double>& negative) {
  if (positive.empty() || negative.empty()) {
    throw std::invalid_argument("auroc: needs at least one positive and one negative score");
  }
  require_finite(positive, "auroc");
  require_finite(negative, "auroc");
  std::vector<double> neg(negative);
  std::sort(neg.begin(), neg.end());
  // Counted in halves so ties stay exact integers until the final division.
  unsigned long long halves = 0;
  for (double p : positive) {
    const auto range = std::equal_range(neg.begin(), neg.end(), p);
    const auto below = static_cast<unsigned long long>(range.first - neg.begin());
    const auto equal = static_cast<unsigned long long>(range.second - range.first);
    halves += 2 * below + equal;
  }
  const double pairs = static_cast<double>(positive.size()) * static_cast<double>(negative.size());
  return static_cast<double>(halves) / 2.0 / pairs;
}

double average_precision(const std::vector<double>& positive, const std::vector<double>& negative) {
  if (positive.empty()) throw std::invalid_argument("average_precision: needs at least one positive score");
  require_finite(positive, "average_precision");
  require_finite(negative, "average_precision");
  std::vector<std::pair<double, bool>> scored;
  for (double p : positive) scored.emplace_back(p, true);
  for (double n : negative) scored.emplace_back(n, false);
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  double ap = 0, true_positives = 0, flagged = 0, last_recall = 0;
  for (std::size_t k = 0; k < scored.size();) {
    std::size_t end = k;
    while (end < scored.size() && scored[end].first == scored[k].first) {
      true_positives += scored[end].second ? 1 : 0;
      ++end;
    }
    flagged += static_cast<double>(end - k);
    const double recall = true_positives / static_cast<double>(positive.size());
    ap += (recall - last_recall) * (true_positives / flagged);
    last_recall = recall;
    k = end;
  }
  return ap;
}

}  // namespace cdae::eval
