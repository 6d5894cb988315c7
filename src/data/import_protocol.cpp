#include "data/import_protocol.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

namespace cdae::data {

namespace {

using Pools = std::map<int, std::vector<std::size_t>>;  // class id -> sample positions, in draw order

std::vector<std::size_t> shuffled(std::vector<std::size_t> v, std::mt19937_64& rng) {
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

void validate(const ImportProtocol& p, int classes, bool has_test_part) {
  auto fraction_ok = [](double f, bool allow_zero) { return (allow_zero ? f >= 0 : f > 0) && f < 1; };
  if (p.normal.empty()) throw std::invalid_argument("--normal: at least one class is needed");
  for (int c : p.normal)
    if (c < 0 || c >= classes) throw std::invalid_argument("--normal: no class " + std::to_string(c));
  if (p.known >= classes || p.known < -1) throw std::invalid_argument("--known: no class " + std::to_string(p.known));
  if (contains(p.normal, p.known)) throw std::invalid_argument("--known: the known class cannot also be normal");
  if (p.known_count >= 0 && p.known_ratio >= 0)
    throw std::invalid_argument("--known-count and --known-ratio exclude each other");
  if (p.known < 0 && (p.known_count > 0 || p.known_ratio > 0))
    throw std::invalid_argument("--known-count/--known-ratio need --known");
  if (!fraction_ok(p.pollution, true)) throw std::invalid_argument("--pollution " + number(p.pollution) + " must be in [0, 1)");
  if (!fraction_ok(p.val_fraction, false))
    throw std::invalid_argument("--val-fraction " + number(p.val_fraction) + " must be in (0, 1)");
  if (!has_test_part && !fraction_ok(p.test_fraction, false))
    throw std::invalid_argument("--test-fraction " + number(p.test_fraction) + " must be in (0, 1)");
  if (p.known_ratio >= 0 && !fraction_ok(p.known_ratio, true))
    throw std::invalid_argument("--known-ratio " + number(p.known_ratio) + " must be in [0, 1)");
}

// Labels by class id: normal -> 0, known -> 1, the other classes -> 2.. in id
// order. Names by label: one normal class keeps its name, several are "normal";
// label 1 is the known class's name, or "defect" when there is none.
std::vector<std::int64_t> make_labels(const ImportProtocol& p, const std::vector<std::string>& class_names,
                                      std::vector<std::string>& names) {
  std::vector<std::int64_t> label_of(class_names.size(), -1);
  names = {p.normal.size() == 1 ? class_names[p.normal[0]] : "normal", p.known >= 0 ? class_names[p.known] : "defect"};
  for (int c : p.normal) label_of[c] = 0;
  if (p.known >= 0) label_of[p.known] = 1;
  for (std::size_t c = 0; c < class_names.size(); ++c)
    if (label_of[c] < 0) {
      label_of[c] = static_cast<std::int64_t>(names.size());
      names.push_back(class_names[c]);
    }
  return label_of;
}

void place(Assignment& out, std::size_t i, int split, std::int64_t label) {
  out.split[i] = split;
  out.label[i] = label;
}

// The test split: the source's own test part, or test_fraction of every
// class. Returns the rest (the train source), shuffled, by class.
Pools split_off_test(const std::vector<SourceSample>& samples, const std::vector<std::int64_t>& label_of,
                     bool has_test_part, double test_fraction, std::mt19937_64& rng, Assignment& out) {
  Pools by_class;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const int c = samples[i].class_id;
    if (c < 0 || c >= static_cast<int>(label_of.size()))
      throw std::invalid_argument("sample " + std::to_string(i) + " has class " + std::to_string(c) + ", outside the " +
                                  std::to_string(label_of.size()) + " classes");
    if (has_test_part && samples[i].from_test)
      place(out, i, kTest, label_of[c]);
    else
      by_class[c].push_back(i);
  }
  Pools train_source;
  for (auto& [c, positions] : by_class) {
    const auto order = shuffled(positions, rng);
    const auto test = has_test_part ? 0 : static_cast<std::size_t>(std::llround(test_fraction * order.size()));
    for (std::size_t k = 0; k < order.size(); ++k)
      if (k < test)
        place(out, order[k], kTest, label_of[c]);
      else
        train_source[c].push_back(order[k]);
  }
  return train_source;
}

// Each normal class: val_fraction (at least 1) to val, the rest to train.
// Returns n, the normal samples of the train split.
std::int64_t assign_normal(const ImportProtocol& p, Pools& pools, Assignment& out) {
  std::int64_t n = 0;
  for (int c : p.normal) {
    const auto& pool = pools[c];
    const auto val = static_cast<std::size_t>(std::max<long long>(1, std::llround(p.val_fraction * pool.size())));
    for (std::size_t k = 0; k < pool.size(); ++k) {
      place(out, pool[k], k < val ? kVal : kTrain, 0);
      n += k < val ? 0 : 1;
    }
  }
  return n;
}

// Known defects: exactly m in train, and val_fraction of m (at least 1) more
// in val. Returns m.
std::int64_t assign_known(const ImportProtocol& p, std::int64_t n, const std::vector<std::string>& class_names,
                          Pools& pools, Assignment& out) {
  if (p.known < 0) return 0;
  const auto& pool = pools[p.known];
  const std::int64_t m = p.known_count >= 0   ? p.known_count
                         : p.known_ratio >= 0 ? std::llround(p.known_ratio * n / (1.0 - p.known_ratio))
                                              : 0;
  const std::int64_t mv = m > 0 ? std::max<long long>(1, std::llround(p.val_fraction * m)) : 0;
  if (m + mv > static_cast<std::int64_t>(pool.size()))
    throw std::invalid_argument("--known-count/--known-ratio: " + std::to_string(m) + " labelled known defects (+" +
                                std::to_string(mv) + " for validation) asked for, the source's train part has " +
                                std::to_string(pool.size()) + " of class '" + class_names[p.known] + "'");
  for (std::int64_t k = 0; k < m + mv; ++k) place(out, pool[k], k < m ? kTrain : kVal, 1);
  return m;
}

// Pollution: unlabelled anomalies of the classes that are neither normal nor
// known, drawn at random from all of them together. Returns their number.
std::int64_t assign_pollution(const ImportProtocol& p, std::int64_t n, const std::vector<SourceSample>& samples,
                              const std::vector<std::int64_t>& label_of, const Pools& pools, std::mt19937_64& rng,
                              Assignment& out) {
  if (p.pollution <= 0) return 0;
  std::vector<std::size_t> others;
  for (const auto& [c, pool] : pools)
    if (!contains(p.normal, c) && c != p.known) others.insert(others.end(), pool.begin(), pool.end());
  const auto want = static_cast<std::size_t>(std::llround(p.pollution * n / (1.0 - p.pollution)));
  if (want > others.size())
    throw std::invalid_argument("--pollution " + number(p.pollution) + " needs " + std::to_string(want) +
                                " anomalies of the classes neither normal nor known, the source's train part has " +
                                std::to_string(others.size()));
  others = shuffled(others, rng);
  for (std::size_t k = 0; k < want; ++k) place(out, others[k], kTrain, label_of[samples[others[k]].class_id]);
  return static_cast<std::int64_t>(want);
}

std::string class_list(const std::vector<int>& ids, const std::vector<std::string>& class_names) {
  std::string s;
  for (int c : ids) s += (s.empty() ? "" : ", ") + class_names[c] + " (" + std::to_string(c) + ")";
  return s;
}

// `counts` gives the val numbers; n, m and the polluting count are the train ones.
std::string describe(const ImportProtocol& p, const std::vector<std::string>& class_names, bool has_test_part,
                     const std::vector<std::vector<std::int64_t>>& counts, std::int64_t n, std::int64_t m,
                     std::int64_t polluting) {
  std::ostringstream s;
  s << "normal: " << class_list(p.normal, class_names) << ", n = " << n << " in train, " << counts[kVal][0]
    << " in val (val_fraction " << p.val_fraction << "); known: ";
  if (p.known < 0)
    s << "none";
  else
    s << class_list({p.known}, class_names) << ", m = " << m << " labelled in train"
      << (p.known_count >= 0 ? " (known_count)"
                             : p.known_ratio >= 0 ? " (known_ratio gamma_l = m/(n+m) = " + number(p.known_ratio) + ")"
                                                  : "")
      << ", " << counts[kVal][1] << " in val (val_fraction of m)";
  s << "; pollution " << p.pollution << ": " << polluting << " unlabelled anomalies of other classes in train; test: "
    << (has_test_part ? "the source's test part" : "test_fraction " + number(p.test_fraction) + " of every class")
    << ", all classes; seed " << p.seed;
  return s.str();
}

std::vector<std::vector<std::int64_t>> count(const Assignment& a) {
  std::vector<std::vector<std::int64_t>> counts(3, std::vector<std::int64_t>(a.class_names.size(), 0));
  for (std::size_t i = 0; i < a.split.size(); ++i)
    if (a.split[i] >= 0) ++counts[static_cast<std::size_t>(a.split[i])][static_cast<std::size_t>(a.label[i])];
  return counts;
}

}  // namespace

std::vector<int> parse_classes(const std::string& option, const std::string& list,
                               const std::vector<std::string>& class_names) {
  std::vector<int> ids;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const auto named = std::find(class_names.begin(), class_names.end(), item);
    int id = -1;
    if (named != class_names.end()) {
      id = static_cast<int>(named - class_names.begin());
    } else {
      char* end = nullptr;
      const long v = std::strtol(item.c_str(), &end, 10);
      if (end == item.c_str() + item.size() && v >= 0 && v < static_cast<long>(class_names.size())) id = static_cast<int>(v);
    }
    if (id < 0) {
      std::string known;
      for (std::size_t k = 0; k < class_names.size(); ++k) known += (k ? ", " : "") + std::to_string(k) + "=" + class_names[k];
      throw std::invalid_argument(option + " '" + item + "' is not a class of this source (" + known + ")");
    }
    if (!contains(ids, id)) ids.push_back(id);
  }
  if (ids.empty()) throw std::invalid_argument(option + " names no class");
  return ids;
}

Assignment assign_samples(const std::vector<SourceSample>& samples, const std::vector<std::string>& class_names,
                          bool has_test_part, const ImportProtocol& p) {
  validate(p, static_cast<int>(class_names.size()), has_test_part);
  std::mt19937_64 rng(p.seed);
  Assignment out;
  const auto label_of = make_labels(p, class_names, out.class_names);
  out.split.assign(samples.size(), kDropped);
  out.label.assign(samples.size(), -1);
  // The draw order is fixed (test per class in id order, then pollution), so
  // the seed alone decides every choice.
  auto pools = split_off_test(samples, label_of, has_test_part, p.test_fraction, rng, out);
  const auto n = assign_normal(p, pools, out);
  const auto m = assign_known(p, n, class_names, pools, out);
  const auto polluting = assign_pollution(p, n, samples, label_of, pools, rng, out);
  out.counts = count(out);
  out.protocol = describe(p, class_names, has_test_part, out.counts, n, m, polluting);
  return out;
}

std::string summary_table(const Assignment& a) {
  std::size_t width = 5;
  for (const auto& name : a.class_names) width = std::max(width, name.size());
  std::ostringstream s;
  s << std::left << std::setw(6) << "label" << std::setw(static_cast<int>(width) + 2) << "class" << std::right;
  for (const char* split : {"train", "val", "test"}) s << std::setw(8) << split;
  s << "\n";
  std::vector<std::int64_t> totals(3, 0);
  for (std::size_t l = 0; l < a.class_names.size(); ++l) {
    s << std::left << std::setw(6) << l << std::setw(static_cast<int>(width) + 2) << a.class_names[l] << std::right;
    for (std::size_t split = 0; split < 3; ++split) {
      const auto c = a.counts.empty() ? 0 : a.counts[split][l];
      totals[split] += c;
      s << std::setw(8) << c;
    }
    s << "\n";
  }
  s << std::left << std::setw(6 + static_cast<int>(width) + 2) << "total" << std::right;
  for (auto t : totals) s << std::setw(8) << t;
  s << "\n";
  return s.str();
}

}  // namespace cdae::data
