// The anomaly-detection protocol of an import, as pure functions: which
// samples of a labelled source go to the train, val and test splits, and with
// which label (0 normal, 1 known defect, 2.. the other classes). Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::data {

struct ImportProtocol {
  std::vector<int> normal;    // class ids that are normal
  int known = -1;             // class id of the known defects; -1: none (unsupervised)
  std::int64_t known_count = -1;  // labelled known defects in the train split, or
  double known_ratio = -1;        // gamma_l = m / (n + m), n = normal train samples
  double pollution = 0;       // fraction of the unlabelled train samples that are anomalies of other classes
  double val_fraction = 0.1;  // of the normal train-source samples; plus that fraction of m known defects
  double test_fraction = 0.2; // of every class, for sources without a test part
  std::uint64_t seed = 0;
};

struct SourceSample {
  int class_id = 0;
  bool from_test = false;  // the source's own test part (IDX t10k files)
};

struct Assignment {
  // Per source sample: the output split (0 train, 1 val, 2 test) or -1 (not used), and the label.
  std::vector<int> split;
  std::vector<std::int64_t> label;
  std::vector<std::string> class_names;  // by label
  std::string summary;                   // counts per split and label, for the log
};

// `class_names`: by class id. `has_test_part`: the source brings its own test
// samples (else test_fraction of each class is drawn). Throws
// std::invalid_argument naming the option for impossible requests (an unknown
// class, more known defects than exist, fractions out of range).
Assignment assign_samples(const std::vector<SourceSample>& samples, const std::vector<std::string>& class_names,
                          bool has_test_part, const ImportProtocol& protocol);

// "0,T-shirt/top" -> class ids, by id or by name. Throws naming the option.
std::vector<int> parse_classes(const std::string& option, const std::string& list,
                               const std::vector<std::string>& class_names);

}  // namespace cdae::data
