// The anomaly-detection protocol of an import, as pure functions: which
// samples of a labelled source go to the train, val and test splits, and with
// which label (0 normal, 1 known defect, 2.. the other classes). Torch-free.
//
// Counts, with n = the normal samples of the train split (after the val part
// is held out) and m = the labelled known defects of the train split:
//  - normal: of each normal class's train-source samples, round(val_fraction *
//    count) (at least 1) go to val, the rest to train; n is what stays in train.
//  - known: m = known_count, or m = round(gamma_l * n / (1 - gamma_l)) so that
//    m / (n + m) = gamma_l (known_ratio) in the train split exactly; another
//    round(val_fraction * m) (at least 1 when m > 0) go to val, on top of m.
//  - pollution: round(P * n / (1 - P)) train samples drawn from the classes that
//    are neither normal nor known, so that they are the fraction P of the
//    unlabelled train samples; they keep their labels (>= 2). The known class
//    never pollutes, so every label-1 train sample is a labelled one.
//  - test: the source's own test part, or round(test_fraction * count) of
//    every class when the source has none; all classes are kept there.
//  - every other train-source sample of a non-normal class is dropped.
// All draws come from one std::mt19937_64(seed) shuffling position lists in a
// fixed order, so the same inputs and seed give the same assignment.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::data {

struct ImportProtocol {
  std::vector<int> normal;        // class ids that are normal
  int known = -1;                 // class id of the known defects; -1: none (unsupervised)
  std::int64_t known_count = -1;  // labelled known defects in the train split (-1: unset), or
  double known_ratio = -1;        // gamma_l = m / (n + m), n = normal train samples (-1: unset)
  double pollution = 0;           // fraction of the unlabelled train samples that are anomalies of other classes
  double val_fraction = 0.1;      // of the normal train-source samples; plus that fraction of m known defects
  double test_fraction = 0.2;     // of every class, for sources without a test part
  std::uint64_t seed = 0;
};

struct SourceSample {
  int class_id = 0;
  bool from_test = false;  // the source's own test part (IDX t10k files)
};

enum Split { kTrain = 0, kVal = 1, kTest = 2, kDropped = -1 };

struct Assignment {
  // Per source sample: the output split (0 train, 1 val, 2 test) or -1 (dropped), and the label.
  std::vector<int> split;
  std::vector<std::int64_t> label;
  std::vector<std::string> class_names;        // by label
  std::vector<std::vector<std::int64_t>> counts;  // [split][label], splits 0..2
  std::string protocol;                        // the protocol in words, with its counts (n, m, ...)
};

// `class_names`: by class id. `has_test_part`: the source brings its own test
// samples (else test_fraction of each class is drawn). Throws
// std::invalid_argument naming the option for impossible requests (an unknown
// class, more known defects than exist, fractions out of range).
Assignment assign_samples(const std::vector<SourceSample>& samples, const std::vector<std::string>& class_names,
                          bool has_test_part, const ImportProtocol& protocol);

// "0,T-shirt/top" -> class ids, by id or by name (a name wins over a number).
// Throws naming the option and listing the classes.
std::vector<int> parse_classes(const std::string& option, const std::string& list,
                               const std::vector<std::string>& class_names);

// The counts as a table: one row per label, one column per split, totals.
std::string summary_table(const Assignment& assignment);

}  // namespace cdae::data
