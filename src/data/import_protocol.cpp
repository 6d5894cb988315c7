#include "data/import_protocol.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>

namespace cdae::data {

namespace {

std::vector<std::size_t> shuffled(std::vector<std::size_t> v, std::mt19937_64& rng) {
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

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
  auto fraction_ok = [](double f, bool allow_zero) { return (allow_zero ? f >= 0 : f > 0) && f < 1; };
  if (p.normal.empty()) throw std::invalid_argument("--normal: at least one class is needed");
  if (contains(p.normal, p.known)) throw std::invalid_argument("--known: the known class cannot also be normal");
  if (!fraction_ok(p.pollution, true)) throw std::invalid_argument("--pollution must be in [0, 1)");
  if (!fraction_ok(p.val_fraction, false)) throw std::invalid_argument("--val-fraction must be in (0, 1)");
  if (!has_test_part && !fraction_ok(p.test_fraction, false))
    throw std::invalid_argument("--test-fraction must be in (0, 1)");
  if (p.known_ratio >= 0 && !fraction_ok(p.known_ratio, true))
    throw std::invalid_argument("--known-ratio must be in [0, 1)");
  const int classes = static_cast<int>(class_names.size());
  std::mt19937_64 rng(p.seed);

  // Labels: normal -> 0, known -> 1, the other classes -> 2.. in id order.
  std::vector<std::int64_t> label_of(static_cast<std::size_t>(classes), -1);
  Assignment out;
  out.class_names.push_back(p.normal.size() == 1 ? class_names[p.normal[0]] : "normal");
  out.class_names.push_back(p.known >= 0 ? class_names[p.known] : "defect");
  for (int c : p.normal) label_of[c] = 0;
  if (p.known >= 0) label_of[p.known] = 1;
  for (int c = 0; c < classes; ++c)
    if (label_of[c] < 0) {
      label_of[c] = static_cast<std::int64_t>(out.class_names.size());
      out.class_names.push_back(class_names[c]);
    }

  const auto n_samples = samples.size();
  out.split.assign(n_samples, -1);
  out.label.assign(n_samples, -1);
  // The test split: the source's own, or test_fraction of every class.
  std::map<int, std::vector<std::size_t>> train_source;  // class -> sample positions
  std::map<int, std::vector<std::size_t>> by_class;
  for (std::size_t i = 0; i < n_samples; ++i) {
    if (samples[i].class_id < 0 || samples[i].class_id >= classes)
      throw std::invalid_argument("sample " + std::to_string(i) + " has class " + std::to_string(samples[i].class_id) +
                                  ", outside the " + std::to_string(classes) + " classes");
    if (has_test_part && samples[i].from_test) {
      out.split[i] = 2;
      out.label[i] = label_of[samples[i].class_id];
    } else {
      by_class[samples[i].class_id].push_back(i);
    }
  }
  for (auto& [c, positions] : by_class) {
    auto order = shuffled(positions, rng);
    std::size_t test = has_test_part ? 0 : static_cast<std::size_t>(std::llround(p.test_fraction * order.size()));
    for (std::size_t k = 0; k < order.size(); ++k) {
      if (k < test) {
        out.split[order[k]] = 2;
        out.label[order[k]] = label_of[c];
      } else {
        train_source[c].push_back(order[k]);
      }
    }
  }

  // Normal: val_fraction to val, the rest to train.
  std::int64_t n_train = 0;
  for (int c : p.normal) {
    const auto& pool = train_source[c];
    const auto val = static_cast<std::size_t>(std::max<long long>(1, std::llround(p.val_fraction * pool.size())));
    for (std::size_t k = 0; k < pool.size(); ++k) {
      out.split[pool[k]] = k < val ? 1 : 0;
      out.label[pool[k]] = 0;
      n_train += k < val ? 0 : 1;
    }
  }
  // Known defects: exactly m in train (gamma_l), plus val_fraction of m in val.
  if (p.known >= 0) {
    const auto& pool = train_source[p.known];
    std::int64_t m = p.known_count >= 0 ? p.known_count
                     : p.known_ratio >= 0 ? std::llround(p.known_ratio * n_train / (1.0 - p.known_ratio))
                                          : 0;
    const std::int64_t mv = m > 0 ? std::max<long long>(1, std::llround(p.val_fraction * m)) : 0;
    if (m + mv > static_cast<std::int64_t>(pool.size()))
      throw std::invalid_argument("--known-count/--known-ratio: " + std::to_string(m) + " labelled known defects (+" +
                                  std::to_string(mv) + " for validation) asked for, the source's train part has " +
                                  std::to_string(pool.size()) + " of class '" + class_names[p.known] + "'");
    for (std::int64_t k = 0; k < m + mv; ++k) {
      out.split[pool[k]] = k < m ? 0 : 1;
      out.label[pool[k]] = 1;
    }
  } else if (p.known_count > 0 || p.known_ratio > 0) {
    throw std::invalid_argument("--known-count/--known-ratio need --known");
  }
  // Pollution: unlabelled anomalies of the other classes (never the known one,
  // so every label-1 train sample is a labelled one), drawn at random.
  if (p.pollution > 0) {
    std::vector<std::size_t> others;
    for (auto& [c, pool] : train_source)
      if (!contains(p.normal, c) && c != p.known) others.insert(others.end(), pool.begin(), pool.end());
    const auto want = static_cast<std::size_t>(std::llround(p.pollution * n_train / (1.0 - p.pollution)));
    if (want > others.size())
      throw std::invalid_argument("--pollution " + std::to_string(p.pollution) + " needs " + std::to_string(want) +
                                  " anomalies of other classes, the source has " + std::to_string(others.size()));
    others = shuffled(others, rng);
    for (std::size_t k = 0; k < want; ++k) {
      out.split[others[k]] = 0;
      out.label[others[k]] = label_of[samples[others[k]].class_id];
    }
  }

  // Counts per split and label.
  std::ostringstream s;
  const char* split_names[3] = {"train", "val", "test"};
  for (int split = 0; split < 3; ++split) {
    std::vector<std::int64_t> counts(out.class_names.size(), 0);
    for (std::size_t i = 0; i < n_samples; ++i)
      if (out.split[i] == split) ++counts[out.label[i]];
    s << "  " << split_names[split] << ":";
    for (std::size_t l = 0; l < counts.size(); ++l)
      if (counts[l]) s << " " << l << " (" << out.class_names[l] << ") " << counts[l];
    s << "\n";
  }
  out.summary = s.str();
  return out;
}

}  // namespace cdae::data
