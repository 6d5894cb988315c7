#include "eval/report.h"

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "eval/metrics.h"
#include "io/file_writes.h"
#include "io/hdf5_file.h"

namespace cdae::eval {

namespace {

// Higher = more defect-like in latent space: closer to the defect centroid
// than to the normal one.
std::vector<double> latent_score(const ClassScores& c) {
  std::vector<double> s(c.dist_normal.size());
  for (size_t k = 0; k < s.size(); ++k) s[k] = c.dist_normal[k] - c.dist_defect[k];
  return s;
}

// Every per-sample array must match the losses (the latent ones may be
// absent together); otherwise latent_score and the HDF5 writer would read past
// the end.
void check_sizes(const std::vector<ClassScores>& classes) {
  for (const auto& c : classes) {
    const auto n = c.losses.size();
    const bool latent_ok = (c.dist_normal.empty() && c.dist_defect.empty()) ||
                           (c.dist_normal.size() == n && c.dist_defect.size() == n);
    if (c.angle0.size() != n || !latent_ok)
      throw std::invalid_argument("class '" + c.label + "': angle0 and latent distances must have one value per loss");
  }
}

const ClassScores* find(const std::vector<ClassScores>& classes, const std::string& label) {
  for (const auto& c : classes)
    if (c.label == label) return &c;
  return nullptr;
}

}  // namespace

std::string class_folder(const std::string& label) {
  return label == "random" ? "res_random" : "res_dtheta=" + label;
}

std::vector<SummaryRow> summarize(const std::vector<ClassScores>& classes, const std::string& normal_label,
                                  const std::string& defect_label, double* defect_vs_outliers,
                                  double* latent_defect_vs_outliers) {
  check_sizes(classes);
  const ClassScores* normal = find(classes, normal_label);
  const ClassScores* defect = find(classes, defect_label);
  const bool latent = normal && !normal->dist_normal.empty();
  std::vector<SummaryRow> rows;
  for (const auto& c : classes) {
    SummaryRow row;
    row.label = c.label;
    row.n = c.losses.size();
    row.median = percentile(c.losses, 50);
    row.p5 = percentile(c.losses, 5);
    row.p95 = percentile(c.losses, 95);
    row.auroc_vs_normal = normal ? auroc(c.losses, normal->losses) : -1;
    if (latent && !c.dist_normal.empty()) row.latent_auroc_vs_normal = auroc(latent_score(c), latent_score(*normal));
    rows.push_back(row);
  }
  if (defect_vs_outliers) *defect_vs_outliers = -1;
  if (latent_defect_vs_outliers) *latent_defect_vs_outliers = -1;
  if (defect) {
    std::vector<double> others, others_latent;
    for (const auto& c : classes) {
      if (c.label == defect_label || c.label == normal_label) continue;
      others.insert(others.end(), c.losses.begin(), c.losses.end());
      if (latent && !c.dist_normal.empty()) {
        const auto s = latent_score(c);
        others_latent.insert(others_latent.end(), s.begin(), s.end());
      }
    }
    if (!others.empty() && defect_vs_outliers) *defect_vs_outliers = auroc(defect->losses, others);
    if (!others_latent.empty() && latent_defect_vs_outliers)
      *latent_defect_vs_outliers = auroc(latent_score(*defect), others_latent);
  }
  return rows;
}

std::string write_report(const std::string& results_dir, const std::vector<ClassScores>& classes,
                         const std::string& normal_label, const std::string& defect_label) {
  namespace fs = std::filesystem;
  check_sizes(classes);
  for (const auto& c : classes) {
    const auto folder = (fs::path(results_dir) / class_folder(c.label)).string();
    io::ensure_writable_directory(folder);
    write_hist_dat((fs::path(folder) / "hist.dat").string(), density_histogram(c.losses, reference_bin_count(c.losses.size())));
  }
  io::write_atomically((fs::path(results_dir) / "eval.h5").string(), [&](const std::string& tmp) {
    io::H5File f(tmp, io::H5File::Mode::truncate);
    std::string order;
    for (const auto& c : classes) {
      const std::string g = "/classes/" + c.label + "/";
      const std::int64_t n = static_cast<std::int64_t>(c.losses.size());
      f.write_f64(g + "losses", {n}, c.losses.data());
      f.write_f64(g + "angle0", {n}, c.angle0.data());
      if (!c.dist_normal.empty()) {
        f.write_f64(g + "latent_dist_normal", {n}, c.dist_normal.data());
        f.write_f64(g + "latent_dist_defect", {n}, c.dist_defect.data());
      }
      order += (order.empty() ? "" : ",") + c.label;
    }
    f.set_attr("classes", order);
    f.set_attr("normal_class", normal_label);
    f.set_attr("defect_class", defect_label);
  });

  double defect_vs_outliers = -1, latent_defect_vs_outliers = -1;
  const auto rows = summarize(classes, normal_label, defect_label, &defect_vs_outliers, &latent_defect_vs_outliers);
  std::ostringstream tsv, table;
  tsv << "class\tn\tmedian\tp5\tp95\tauroc_vs_normal\tlatent_auroc_vs_normal\n";
  table << "class          n      median         p5        p95  AUROC(loss)  AUROC(latent)\n";
  auto fmt = [](double v) {
    char b[32];
    if (v < 0) return std::string("n/a");
    std::snprintf(b, sizeof b, "%.4f", v);
    return std::string(b);
  };
  for (const auto& r : rows) {
    char line[256];
    tsv << r.label << "\t" << r.n << "\t" << r.median << "\t" << r.p5 << "\t" << r.p95 << "\t" << fmt(r.auroc_vs_normal)
        << "\t" << fmt(r.latent_auroc_vs_normal) << "\n";
    std::snprintf(line, sizeof line, "%-9s %6zu %11.4f %10.4f %10.4f %12s %14s%s\n", r.label.c_str(), r.n, r.median,
                  r.p5, r.p95, fmt(r.auroc_vs_normal).c_str(), fmt(r.latent_auroc_vs_normal).c_str(),
                  r.label == normal_label ? "  (normal)" : r.label == defect_label ? "  (defect)" : "");
    table << line;
  }
  tsv << "# defect " << defect_label << " vs all other outliers: auroc_loss " << fmt(defect_vs_outliers)
      << " auroc_latent " << fmt(latent_defect_vs_outliers) << "\n";
  table << "defect " << defect_label << " vs all other outliers: AUROC(loss) " << fmt(defect_vs_outliers)
        << ", AUROC(latent) " << fmt(latent_defect_vs_outliers) << "\n";
  io::write_text_atomically((fs::path(results_dir) / "summary.tsv").string(), tsv.str());
  return table.str();
}

}  // namespace cdae::eval
