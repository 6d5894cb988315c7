#include "eval/dataset_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "eval/metrics.h"
#include "io/file_writes.h"
#include "io/hdf5_file.h"

namespace cdae::eval {

namespace {

constexpr std::int64_t kUnknownLabel = -1;

// Every per-sample array must have one value per loss (labels may be absent,
// the latent distances absent together); otherwise the writers would read past
// the end of a shorter one.
void check_scores(const DatasetScores& s) {
  const std::size_t n = s.loss.size();
  if (n == 0) throw std::invalid_argument("dataset scores: no samples");
  auto size_error = [&](const char* what, std::size_t size) {
    return std::invalid_argument("dataset scores: " + std::string(what) + " has " + std::to_string(size) +
                                 " values for " + std::to_string(n) + " losses");
  };
  if (s.index.size() != n) throw size_error("index", s.index.size());
  if (!s.label.empty() && s.label.size() != n) throw size_error("label", s.label.size());
  const bool no_latent = s.dist_normal.empty() && s.dist_defect.empty();
  if (!no_latent && s.dist_normal.size() != n) throw size_error("dist_normal", s.dist_normal.size());
  if (!no_latent && s.dist_defect.size() != n) throw size_error("dist_defect", s.dist_defect.size());
}

bool has_latent(const DatasetScores& s) { return !s.dist_normal.empty(); }

// Negative labels all mean "unknown", whatever the file used for it.
std::int64_t label_of(const DatasetScores& s, std::size_t k) {
  if (s.label.empty() || s.label[k] < 0) return kUnknownLabel;
  return s.label[k];
}

// Higher = more defect-like in latent space, as in report.cpp.
double latent_score(const DatasetScores& s, std::size_t k) { return s.dist_normal[k] - s.dist_defect[k]; }

void require_finite_scores(const std::vector<double>& scores, const std::string& what) {
  for (std::size_t k = 0; k < scores.size(); ++k) {
    if (!std::isfinite(scores[k])) {
      throw std::invalid_argument(what + ": score " + std::to_string(k) + " is " +
                                  std::to_string(scores[k]) + " (NaN or infinite)");
    }
  }
}

std::string format(const char* spec, double v) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, spec, v);
  return buffer;
}

// TSV fields must not contain the separators; class names come from a file.
std::string tsv_field(std::string text) {
  for (char& c : text)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return text;
}

std::string metric_text(double v) { return v < 0 ? "n/a" : format("%.4f", v); }

std::size_t count_flagged(const DatasetScores& s, const Threshold& t) {
  return static_cast<std::size_t>(
      std::count_if(s.loss.begin(), s.loss.end(), [&](double v) { return v > t.value; }));
}

// "# dataset: ..." and "# split: ..." for the headers, when known.
std::string provenance_lines(const DatasetScores& s) {
  std::string out;
  if (!s.dataset.empty()) out += "# dataset: " + tsv_field(s.dataset) + "\n";
  if (!s.split.empty()) out += "# split: " + tsv_field(s.split) + "\n";
  return out;
}

// The labels present, ascending, the unknown label (-1) first when present.
std::vector<std::int64_t> labels_present(const DatasetScores& s) {
  std::vector<std::int64_t> labels;
  for (std::size_t k = 0; k < s.loss.size(); ++k) labels.push_back(label_of(s, k));
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  return labels;
}

// The samples of one summary row: a single label, or all labels >= min_label.
struct Group {
  std::vector<double> loss, latent;
  std::size_t flagged = 0;
};

template <typename Pred>
Group collect(const DatasetScores& s, const Threshold& t, Pred in_group) {
  Group g;
  for (std::size_t k = 0; k < s.loss.size(); ++k) {
    if (!in_group(label_of(s, k))) continue;
    g.loss.push_back(s.loss[k]);
    if (has_latent(s)) g.latent.push_back(latent_score(s, k));
    if (s.loss[k] > t.value) ++g.flagged;
  }
  return g;
}

DatasetSummaryRow make_row(const std::string& name, std::int64_t label, bool aggregate, const Group& g,
                           const Group* normal) {
  DatasetSummaryRow row;
  row.name = name;
  row.label = label;
  row.aggregate = aggregate;
  row.n = g.loss.size();
  row.median = percentile(g.loss, 50);
  row.p95 = percentile(g.loss, 95);
  row.flagged = g.flagged;
  if (normal != nullptr) {
    row.auroc_vs_normal = auroc(g.loss, normal->loss);
    row.ap_vs_normal = average_precision(g.loss, normal->loss);
    if (!g.latent.empty()) row.latent_auroc_vs_normal = auroc(g.latent, normal->latent);
  }
  return row;
}

// Common bin edges of all scores (see kScoreHistogramBins).
struct Bins {
  std::vector<double> edges;  // bins + 1
  bool log = false;
};

Bins common_bins(const std::vector<double>& scores, int bins) {
  const auto [lo_it, hi_it] = std::minmax_element(scores.begin(), scores.end());
  double lo = *lo_it, hi = *hi_it;
  Bins b;
  b.log = lo > 0 && hi / lo > 100.0;
  if (lo == hi) lo -= 0.5, hi += 0.5;  // numpy.histogram's range for constant data
  b.edges.resize(static_cast<std::size_t>(bins) + 1);
  const double a = b.log ? std::log(lo) : lo;
  const double step = ((b.log ? std::log(hi) : hi) - a) / bins;
  for (int i = 0; i <= bins; ++i) {
    const double x = a + i * step;
    b.edges[static_cast<std::size_t>(i)] = b.log ? std::exp(x) : x;
  }
  // Exact ends so rounding never leaves the minimum or maximum outside.
  b.edges.front() = lo;
  b.edges.back() = hi;
  return b;
}

// Bin [e_i, e_{i+1}), the last bin closed on the right.
std::size_t bin_of(double v, const std::vector<double>& edges) {
  const auto it = std::upper_bound(edges.begin(), edges.end(), v);
  const auto i = static_cast<std::size_t>(std::max<std::ptrdiff_t>(it - edges.begin() - 1, 0));
  return std::min(i, edges.size() - 2);
}

std::vector<double> class_density(const std::vector<double>& values, const std::vector<double>& edges) {
  std::vector<double> density(edges.size() - 1, 0.0);
  for (double v : values) density[bin_of(v, edges)] += 1.0;
  const double n = static_cast<double>(values.size());
  for (std::size_t i = 0; i < density.size(); ++i) density[i] /= n * (edges[i + 1] - edges[i]);
  return density;
}

std::string row_label_text(const DatasetSummaryRow& r) {
  return r.aggregate ? ">=" + std::to_string(r.label) : std::to_string(r.label);
}

}  // namespace

Threshold threshold_from_normal_quantile(const std::vector<double>& normal_val_scores, double q) {
  if (!(q >= 0.0 && q <= 1.0)) throw std::invalid_argument("normal quantile must be in [0, 1], got " + std::to_string(q));
  if (normal_val_scores.empty())
    throw std::invalid_argument("normal quantile threshold: no normal validation scores (label 0 in the val split)");
  require_finite_scores(normal_val_scores, "normal quantile threshold");
  Threshold t;
  t.value = percentile(normal_val_scores, 100.0 * q);
  t.rule = "score > " + format("%g", q) + "-quantile of the " + std::to_string(normal_val_scores.size()) +
           " normal validation scores (numpy percentile, linear)";
  return t;
}

Threshold threshold_from_contamination(const std::vector<double>& scores, double r) {
  if (!(r > 0.0 && r < 1.0)) throw std::invalid_argument("contamination must be in (0, 1), got " + std::to_string(r));
  if (scores.empty()) throw std::invalid_argument("contamination threshold: no scores");
  require_finite_scores(scores, "contamination threshold");
  Threshold t;
  t.value = percentile(scores, 100.0 * (1.0 - r));
  t.rule = "score > " + format("%g", 1.0 - r) + "-quantile of the " + std::to_string(scores.size()) +
           " scored samples (expected contamination " + format("%g", r) + ")";
  return t;
}

std::string class_name(const DatasetScores& s, std::int64_t label) {
  if (label < 0) return "";
  if (static_cast<std::uint64_t>(label) < s.class_names.size()) return s.class_names[static_cast<std::size_t>(label)];
  return "label_" + std::to_string(label);
}

void write_flags_tsv(const std::string& path, const DatasetScores& s, const Threshold& t) {
  check_scores(s);
  std::ostringstream out;
  out << provenance_lines(s) << "# rule: " << tsv_field(t.rule) << "\n"
      << "# threshold: " << format("%.17g", t.value) << "\n"
      << "# flagged: " << count_flagged(s, t) << " of " << s.loss.size() << "\n"
      << "index\tlabel\tclass\tscore\tflag\n";
  for (std::size_t k = 0; k < s.loss.size(); ++k) {
    const std::int64_t label = label_of(s, k);
    out << s.index[k] << "\t" << label << "\t" << tsv_field(class_name(s, label)) << "\t" << format("%.6g", s.loss[k])
        << "\t" << (s.loss[k] > t.value ? 1 : 0) << "\n";
  }
  io::write_text_atomically(path, out.str());
}

std::vector<DatasetSummaryRow> summarize_dataset(const DatasetScores& s, const Threshold& t) {
  check_scores(s);
  const auto labels = labels_present(s);
  const bool have_normal = std::binary_search(labels.begin(), labels.end(), std::int64_t{0});
  const Group normal = collect(s, t, [](std::int64_t l) { return l == 0; });
  const Group* against = have_normal ? &normal : nullptr;

  std::vector<DatasetSummaryRow> rows;
  for (std::int64_t label : labels) {
    if (label < 1) continue;  // normal and unknown rows below, without AUROC
    rows.push_back(make_row(class_name(s, label), label, false, collect(s, t, [=](std::int64_t l) { return l == label; }),
                            against));
  }
  // Rows in label order: the normal first, "unlabelled" after the classes.
  if (have_normal) rows.insert(rows.begin(), make_row(class_name(s, 0), 0, false, normal, nullptr));
  if (labels.front() == kUnknownLabel) {
    rows.push_back(make_row("unlabelled", kUnknownLabel, false,
                            collect(s, t, [](std::int64_t l) { return l == kUnknownLabel; }), nullptr));
  }
  if (labels.back() >= 1)
    rows.push_back(make_row("all anomalies", 1, true, collect(s, t, [](std::int64_t l) { return l >= 1; }), against));
  if (labels.back() >= 2) {
    rows.push_back(
        make_row("unseen anomalies", 2, true, collect(s, t, [](std::int64_t l) { return l >= 2; }), against));
  }
  return rows;
}

std::string write_dataset_summary(const std::string& path, const std::vector<DatasetSummaryRow>& rows) {
  std::size_t width = 5;  // "class"
  for (const auto& r : rows) width = std::max(width, r.name.size());
  const int w = static_cast<int>(width);

  std::ostringstream tsv, table;
  tsv << "class\tlabel\tn\tmedian\tp95\tauroc_vs_normal\tap_vs_normal\tlatent_auroc_vs_normal\tflagged\n";
  char line[512];
  std::snprintf(line, sizeof line, "%-*s %5s %7s %11s %11s %11s %9s %13s %8s\n", w, "class", "label", "n", "median",
                "p95", "AUROC(loss)", "AP(loss)", "AUROC(latent)", "flagged");
  table << line;
  for (const auto& r : rows) {
    const std::string label = row_label_text(r);
    tsv << tsv_field(r.name) << "\t" << label << "\t" << r.n << "\t" << format("%.6g", r.median) << "\t"
        << format("%.6g", r.p95) << "\t" << metric_text(r.auroc_vs_normal) << "\t" << metric_text(r.ap_vs_normal) << "\t"
        << metric_text(r.latent_auroc_vs_normal) << "\t" << r.flagged << "\n";
    std::snprintf(line, sizeof line, "%-*s %5s %7zu %11.5g %11.5g %11s %9s %13s %8zu\n", w, r.name.c_str(),
                  label.c_str(), r.n, r.median, r.p95, metric_text(r.auroc_vs_normal).c_str(),
                  metric_text(r.ap_vs_normal).c_str(), metric_text(r.latent_auroc_vs_normal).c_str(), r.flagged);
    table << line;
  }
  io::write_text_atomically(path, tsv.str());
  return table.str();
}

void write_scores_h5(const std::string& path, const DatasetScores& s, const Threshold& t) {
  check_scores(s);
  const std::int64_t n = static_cast<std::int64_t>(s.loss.size());
  std::vector<std::int64_t> labels(s.loss.size());
  for (std::size_t k = 0; k < labels.size(); ++k) labels[k] = label_of(s, k);
  std::string names;
  for (const auto& name : s.class_names) names += (names.empty() ? "" : ",") + name;

  io::write_atomically(path, [&](const std::string& tmp) {
    io::H5File f(tmp, io::H5File::Mode::truncate);
    f.write_i64("index", {n}, s.index.data());
    f.write_i64("label", {n}, labels.data());
    f.write_f64("loss", {n}, s.loss.data());
    if (has_latent(s)) {
      f.write_f64("latent_dist_normal", {n}, s.dist_normal.data());
      f.write_f64("latent_dist_defect", {n}, s.dist_defect.data());
    }
    f.set_attr("class_names", names);
    f.set_attr("threshold", t.value);
    f.set_attr("threshold_rule", t.rule);
    if (!s.dataset.empty()) f.set_attr("dataset", s.dataset);
    if (!s.split.empty()) f.set_attr("split", s.split);
  });
}

void write_score_histograms(const std::string& path, const DatasetScores& s) {
  check_scores(s);
  require_finite_scores(s.loss, "score histograms '" + path + "'");
  const Bins bins = common_bins(s.loss, kScoreHistogramBins);

  const auto labels = labels_present(s);
  std::vector<std::string> names;
  std::vector<std::vector<double>> densities;
  for (std::int64_t label : labels) {
    std::vector<double> values;
    for (std::size_t k = 0; k < s.loss.size(); ++k)
      if (label_of(s, k) == label) values.push_back(s.loss[k]);
    names.push_back(label == kUnknownLabel ? "unlabelled" : class_name(s, label));
    densities.push_back(class_density(values, bins.edges));
  }
  // The unknown label sorts first; in the summary it comes after the classes.
  if (labels.front() == kUnknownLabel) {
    std::rotate(names.begin(), names.begin() + 1, names.end());
    std::rotate(densities.begin(), densities.begin() + 1, densities.end());
  }

  std::ostringstream out;
  out << provenance_lines(s) << "# binning " << (bins.log ? "log" : "linear") << "\n"
      << "# right_edge " << format("%.17g", bins.edges.back()) << "\n"
      << "left_edge";
  for (const auto& name : names) out << "\t" << tsv_field(name);
  out << "\n";
  for (std::size_t i = 0; i + 1 < bins.edges.size(); ++i) {
    out << format("%.10g", bins.edges[i]);
    for (const auto& d : densities) out << "\t" << format("%.10g", d[i]);
    out << "\n";
  }
  io::write_text_atomically(path, out.str());
}

std::vector<std::size_t> top_k(const std::vector<double>& scores, std::size_t k) {
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) throw std::invalid_argument("top_k: score " + std::to_string(i) + " is NaN");
  }
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  k = std::min(k, order.size());
  const auto higher = [&](std::size_t a, std::size_t b) { return scores[a] > scores[b] || (scores[a] == scores[b] && a < b); };
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(), higher);
  order.resize(k);
  return order;
}

}  // namespace cdae::eval
