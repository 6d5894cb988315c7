// Small HDF5 datasets in the layout of docs/datasets.md, written by tests.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "io/hdf5_file.h"

namespace cdae::testing {

struct TinyDataset {
  std::vector<std::int64_t> sample_shape{6};
  std::vector<std::int64_t> labels, splits;
  std::string class_names = "normal,defect,other";
  std::uint32_t seed = 1;
  bool as_uint8 = false;
};

// Random samples in [0, 1); labels and splits as given (same length).
inline void write_tiny_dataset(const std::string& path, const TinyDataset& d) {
  const auto n = static_cast<std::int64_t>(d.labels.size());
  std::int64_t per_sample = 1;
  for (auto s : d.sample_shape) per_sample *= s;
  std::vector<std::int64_t> shape{n};
  shape.insert(shape.end(), d.sample_shape.begin(), d.sample_shape.end());
  std::mt19937 rng(d.seed);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  io::H5File f(path, io::H5File::Mode::truncate);
  if (d.as_uint8) {
    std::vector<std::uint8_t> values(static_cast<std::size_t>(n * per_sample));
    for (auto& v : values) v = static_cast<std::uint8_t>(rng() % 256);
    f.write_u8("samples", shape, values.data());
  } else {
    std::vector<float> values(static_cast<std::size_t>(n * per_sample));
    for (auto& v : values) v = uniform(rng);
    f.write_f32("samples", shape, values.data());
  }
  f.write_i64("labels", {n}, d.labels.data());
  f.write_i64("split", {n}, d.splits.data());
  f.set_attr("class_names", d.class_names);
}

// `count` samples of (label, split), appended to d.
inline void add_samples(TinyDataset& d, std::int64_t count, std::int64_t label, std::int64_t split) {
  for (std::int64_t k = 0; k < count; ++k) {
    d.labels.push_back(label);
    d.splits.push_back(split);
  }
}

}  // namespace cdae::testing
