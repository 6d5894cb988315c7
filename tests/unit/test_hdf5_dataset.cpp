// HDF5 datasets as training data (docs/datasets.md): every broken file is
// refused with a message naming the file and dataset; rows come back in the
// requested order; the batches of N ranks put together are the batches of one.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "../support/temp_dir.h"
#include "../support/tiny_dataset.h"
#include "data/hdf5_batch_source.h"
#include "data/hdf5_dataset.h"

using namespace cdae;
using cdae::testing::add_samples;
using cdae::testing::expect_error;
using cdae::testing::TempDir;
using cdae::testing::TinyDataset;
using cdae::testing::write_tiny_dataset;

namespace {

// 30 unlabelled train (27 normal, 3 other), 4 known defects, 7 val normal, 2 val defects, 5 test.
TinyDataset standard() {
  TinyDataset d;
  add_samples(d, 27, 0, 0);
  add_samples(d, 3, 2, 0);
  add_samples(d, 4, 1, 0);
  add_samples(d, 7, 0, 1);
  add_samples(d, 2, 1, 1);
  add_samples(d, 5, 2, 2);
  return d;
}

// Which dataset rows a batch holds, found by matching its samples' values.
std::vector<std::int64_t> rows_of(const data::Hdf5Dataset& d, const torch::Tensor& input) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(d.size()));
  for (std::int64_t i = 0; i < d.size(); ++i) all[i] = i;
  const auto samples = d.read(all).reshape({d.size(), -1});
  std::vector<std::int64_t> rows;
  for (std::int64_t k = 0; k < input.size(0); ++k) {
    const auto match = (samples - input[k].reshape({1, -1})).abs().sum(1).argmin().item<std::int64_t>();
    rows.push_back(match);
  }
  return rows;
}

}  // namespace

TEST(Hdf5Dataset, ReadsShapeLabelsSplitsAndRowsInAnyOrder) {
  TempDir dir;
  auto d = standard();
  d.sample_shape = {2, 3, 4};
  write_tiny_dataset(dir.file("d.h5"), d);
  data::Hdf5Dataset dataset(dir.file("d.h5"));
  EXPECT_EQ(dataset.size(), 48);
  EXPECT_EQ(dataset.sample_shape(), (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(dataset.class_names(), (std::vector<std::string>{"normal", "defect", "other"}));
  const auto all = dataset.read({0, 1, 2, 3, 4, 5});
  const auto picked = dataset.read({5, 0, 5, 3});
  ASSERT_EQ(picked.sizes(), (std::vector<std::int64_t>{4, 2, 3, 4}));
  EXPECT_TRUE(torch::equal(picked[0], all[5]));
  EXPECT_TRUE(torch::equal(picked[1], all[0]));
  EXPECT_TRUE(torch::equal(picked[2], all[5]));
  EXPECT_TRUE(torch::equal(picked[3], all[3]));
}

TEST(Hdf5Dataset, Uint8SamplesAreScaledToTheUnitInterval) {
  TempDir dir;
  auto d = standard();
  d.as_uint8 = true;
  write_tiny_dataset(dir.file("d.h5"), d);
  const auto x = data::Hdf5Dataset(dir.file("d.h5")).read({0, 1, 2});
  EXPECT_LE(x.max().item<float>(), 1.0f);
  EXPECT_GE(x.min().item<float>(), 0.0f);
  EXPECT_GT(x.max().item<float>(), 0.5f);  // not left in 0..255, not all zero
}

TEST(Hdf5Dataset, RefusesBrokenFilesNamingFileAndDataset) {
  TempDir dir;
  const auto path = dir.file("bad.h5");
  auto base = standard();
  // Not HDF5 at all.
  cdae::testing::write_file(path, "not an hdf5 file");
  expect_error([&] { data::Hdf5Dataset{path}; }, {path, "cannot be opened"});
  // Labels out of range.
  auto d = base;
  d.labels[3] = 7;
  write_tiny_dataset(path, d);
  expect_error([&] { data::Hdf5Dataset{path}; }, {path, "'labels'", "7", "index 3"});
  // Split out of range.
  d = base;
  d.splits[0] = 3;
  write_tiny_dataset(path, d);
  expect_error([&] { data::Hdf5Dataset{path}; }, {path, "'split'", "outside [0, 3)"});
  // Scalar-per-sample samples (N) are not a layout.
  d = base;
  d.sample_shape = {};
  write_tiny_dataset(path, d);
  expect_error([&] { data::Hdf5Dataset{path}; }, {path, "'/samples'", "expected (N, D)"});
  // Files with 10 samples of 6 values and what `rest` writes besides.
  auto write_with = [&](const std::function<void(io::H5File&)>& rest) {
    io::H5File f(path, io::H5File::Mode::truncate);
    std::vector<float> x(10 * 6, 0.5f);
    f.write_f32("samples", {10, 6}, x.data());
    rest(f);
  };
  const auto names = [](io::H5File& f) { f.set_attr("class_names", std::string("normal,defect")); };
  const std::vector<std::int64_t> ten(10, 0), nine(9, 0);
  const std::vector<float> ten_floats(10, 0.0f);
  // Labels of another length.
  write_with([&](io::H5File& f) {
    f.write_i64("labels", {9}, nine.data());
    f.write_i64("split", {10}, ten.data());
    names(f);
  });
  expect_error([&] { data::Hdf5Dataset{path}; }, {path, "'labels'", "shape (9,)", "expected (10,)"});
  // Float labels, missing split, no class names.
  write_with([&](io::H5File& f) {
    f.write_f32("labels", {10}, ten_floats.data());
    names(f);
  });
  expect_error([&] { data::Hdf5Dataset{path}; }, {path, "'labels' must hold integers"});
  write_with([&](io::H5File& f) {
    f.write_i64("labels", {10}, ten.data());
    names(f);
  });
  expect_error([&] { data::Hdf5Dataset{path}; }, {path, "no dataset 'split'"});
  write_with([](io::H5File&) {});
  expect_error([&] { data::Hdf5Dataset{path}; }, {path, "class_names"});
}

TEST(Hdf5Dataset, NonFiniteSamplesAreRefusedWhenRead) {
  TempDir dir;
  const auto path = dir.file("nan.h5");
  {
    io::H5File f(path, io::H5File::Mode::truncate);
    std::vector<float> x(4 * 3, 0.5f);
    x[7] = std::nanf("");
    std::vector<std::int64_t> labels(4, 0), split(4, 0);
    f.write_f32("samples", {4, 3}, x.data());
    f.write_i64("labels", {4}, labels.data());
    f.write_i64("split", {4}, split.data());
    f.set_attr("class_names", std::string("normal,defect"));
  }
  data::Hdf5Dataset d(path);
  EXPECT_NO_THROW(d.read({0, 1, 3}));
  expect_error([&] { d.read({2}); }, {path, "non-finite"});
}

// The standard tiny dataset in a fresh directory, a probe that maps sample
// values back to rows, and a batch source over it (seed 5).
std::string written_standard(const TempDir& dir) {
  const auto path = dir.file("d.h5");
  write_tiny_dataset(path, standard());
  return path;
}
struct StandardSource {
  TempDir dir;
  std::string path = written_standard(dir);
  data::Hdf5Dataset probe{path};
  data::Hdf5BatchSource source{data::Hdf5Dataset(path), 5, torch::kCPU};
};

TEST(Hdf5BatchSource, ShardsOfAnyRankCountMakeTheSameGlobalBatch) {
  StandardSource standard_source;
  auto& source = standard_source.source;
  const data::BatchSizes sizes{8, 3, 3, 2};
  EXPECT_EQ(source.train_batches(sizes), 3);  // 30 unlabelled / 8, full batches only
  EXPECT_EQ(source.val_batches(sizes), 2);    // 7 val normal / 3
  for (std::int64_t index = 0; index < 3; ++index) {
    const auto one = source.train_batch(4, index, sizes, 0, 1);
    ASSERT_EQ(one.input.size(0), 11);
    for (int world : {2, 3}) {
      std::vector<torch::Tensor> normal, defect;
      for (int rank = 0; rank < world; ++rank) {
        const auto b = source.train_batch(4, index, sizes, rank, world);
        normal.push_back(b.input.narrow(0, 0, b.local_normal()));
        defect.push_back(b.input.narrow(0, b.local_normal(), b.local_defect()));
        EXPECT_EQ(b.global_normal(), 8);
        EXPECT_EQ(b.global_defect(), 3);
      }
      EXPECT_TRUE(torch::equal(torch::cat(normal), one.input.narrow(0, 0, 8))) << world << " ranks";
      EXPECT_TRUE(torch::equal(torch::cat(defect), one.input.narrow(0, 8, 3))) << world << " ranks";
    }
  }
}

TEST(Hdf5BatchSource, AnEpochVisitsUnlabelledSamplesOnceInAFreshOrderWithKnownDefectsInEveryBatch) {
  StandardSource standard_source;
  auto& [dir, path, probe, source] = standard_source;
  const data::BatchSizes sizes{10, 2, 3, 2};
  std::vector<std::int64_t> epoch_rows[2];
  for (int epoch = 0; epoch < 2; ++epoch)
    for (std::int64_t index = 0; index < source.train_batches(sizes); ++index) {
      const auto b = source.train_batch(epoch, index, sizes, 0, 1);
      const auto rows = rows_of(probe, b.input);
      for (std::size_t k = 0; k < rows.size(); ++k) {
        const bool is_defect = k >= 10;
        EXPECT_EQ(probe.splits()[rows[k]], 0);
        EXPECT_EQ(probe.labels()[rows[k]] == 1, is_defect) << "row " << rows[k];
        if (!is_defect) epoch_rows[epoch].push_back(rows[k]);
      }
    }
  // 30 unlabelled samples, 3 batches of 10: each exactly once per epoch.
  EXPECT_EQ(std::set<std::int64_t>(epoch_rows[0].begin(), epoch_rows[0].end()).size(), 30u);
  EXPECT_EQ(std::set<std::int64_t>(epoch_rows[1].begin(), epoch_rows[1].end()).size(), 30u);
  EXPECT_NE(epoch_rows[0], epoch_rows[1]);  // reshuffled
  // A pure function of (seed, epoch): asked again, the same batch.
  EXPECT_TRUE(torch::equal(source.train_batch(1, 2, sizes, 0, 1).input, source.train_batch(1, 2, sizes, 0, 1).input));
}

TEST(Hdf5BatchSource, ValidationCoversTheValSplitOnce) {
  StandardSource standard_source;
  auto& [dir, path, probe, source] = standard_source;
  const data::BatchSizes sizes{10, 2, 3, 1};
  std::multiset<std::int64_t> normal, defect;
  for (std::int64_t index = 0; index < source.val_batches(sizes); ++index) {
    const auto b = source.val_batch(0, index, sizes, 0, 1);
    const auto rows = rows_of(probe, b.input);
    for (std::int64_t k = 0; k < b.local_normal(); ++k) normal.insert(rows[k]);
    for (std::int64_t k = b.local_normal(); k < b.input.size(0); ++k) defect.insert(rows[k]);
  }
  EXPECT_EQ(normal.size(), 7u);
  EXPECT_EQ(std::set<std::int64_t>(normal.begin(), normal.end()).size(), 7u);
  EXPECT_EQ(defect.size(), 2u);
  for (auto r : normal) EXPECT_EQ(probe.labels()[r], 0);
  for (auto r : defect) EXPECT_EQ(probe.labels()[r], 1);
}

TEST(Hdf5BatchSource, RefusesBatchesTheFileCannotServe) {
  TempDir dir;
  auto d = standard();
  for (auto& label : d.labels)
    if (label == 1) label = 2;  // no known defect anywhere
  write_tiny_dataset(dir.file("d.h5"), d);
  data::Hdf5BatchSource source(data::Hdf5Dataset(dir.file("d.h5")), 5, torch::kCPU);
  EXPECT_NO_THROW(source.check({8, 0, 3, 0}, 2));
  expect_error([&] { source.check({8, 3, 3, 0}, 2); }, {dir.file("d.h5"), "n_outliers = 3", "no known defect"});
  expect_error([&] { source.check({80, 0, 3, 0}, 2); }, {dir.file("d.h5"), "batch_size_train (80)"});
  expect_error([&] { source.check({8, 0, 3, 0}, 9); }, {dir.file("d.h5"), "val split has 7 normal", "9 ranks"});
}
