// The multi-class evaluation's outputs: per-class folders with the reference's
// hist.dat, one eval.h5 with every per-sample value, and a summary table
// (stdout and summary.tsv) with percentiles and AUROC. Torch-free.
#pragma once
#include <string>
#include <vector>

namespace cdae::eval {

struct ClassScores {
  std::string label;           // "2.0", "2.1", "random", ...
  std::vector<double> losses;  // recovery loss per sample
  std::vector<double> angle0;
  std::vector<double> dist_normal;  // latent distance to the normal centroid (may be empty)
  std::vector<double> dist_defect;
};

struct SummaryRow {
  std::string label;
  std::size_t n = 0;
  double median = 0, p5 = 0, p95 = 0;
  double auroc_vs_normal = 0;         // this class's loss above the normal class's
  double latent_auroc_vs_normal = -1; // with score = dist_normal - dist_defect; -1 if unknown
};

// normal_label and defect_label name the normal and defect classes in `classes`.
// The defect's AUROC against all other outliers together is returned in
// *defect_vs_outliers (loss score) and *latent_defect_vs_outliers (latent score, -1 if unknown).
std::vector<SummaryRow> summarize(const std::vector<ClassScores>& classes, const std::string& normal_label,
                                  const std::string& defect_label, double* defect_vs_outliers,
                                  double* latent_defect_vs_outliers);

// Writes results_dir/res_dtheta=<label>/hist.dat per class, eval.h5 and
// summary.tsv; returns the table as text for stdout.
std::string write_report(const std::string& results_dir, const std::vector<ClassScores>& classes,
                         const std::string& normal_label, const std::string& defect_label);

// "res_dtheta=2.1" or "res_random".
std::string class_folder(const std::string& label);

}  // namespace cdae::eval
