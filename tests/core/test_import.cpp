// The importers: the protocol's counts and choices, the IDX, table and PNG
// readers on tiny files made here, their refusals, and the written layout.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "data/import_protocol.h"
#include "data/importers.h"
#include "io/hdf5_file.h"
#include "io/idx_file.h"
#include "io/png.h"
#include "io/table_file.h"
#include "temp_dir.h"

using namespace cdae;
using cdae::testing::expect_error;
using cdae::testing::TempDir;
using cdae::testing::write_file;

namespace {

// 100 train samples of each of 4 classes, and 20 test samples of each.
std::vector<data::SourceSample> four_classes(bool with_test) {
  std::vector<data::SourceSample> s;
  for (int c = 0; c < 4; ++c)
    for (int k = 0; k < 100; ++k) s.push_back({c, false});
  if (with_test)
    for (int c = 0; c < 4; ++c)
      for (int k = 0; k < 20; ++k) s.push_back({c, true});
  return s;
}
const std::vector<std::string> kNames{"a", "b", "c", "d"};

std::map<std::pair<int, std::int64_t>, int> counts(const data::Assignment& a) {
  std::map<std::pair<int, std::int64_t>, int> out;
  for (std::size_t i = 0; i < a.split.size(); ++i)
    if (a.split[i] >= 0) ++out[{a.split[i], a.label[i]}];
  return out;
}

std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<std::uint8_t>& values) {
  std::string b = {0, 0, 8, static_cast<char>(dims.size())};
  for (auto d : dims)
    for (int shift : {24, 16, 8, 0}) b.push_back(static_cast<char>((d >> shift) & 0xff));
  b.append(values.begin(), values.end());
  return b;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

}  // namespace

TEST(ImportProtocol, KnownRatioGivesGammaLOfTheTrainSplitAndTheTestKeepsEveryClass) {
  data::ImportProtocol p;
  p.normal = {0};
  p.known = 2;
  p.known_ratio = 0.1;  // n = 90 normal train (10 to val): m = round(0.1 * 90 / 0.9) = 10
  const auto a = data::assign_samples(four_classes(true), kNames, true, p);
  auto c = counts(a);
  EXPECT_EQ((c[{0, 0}]), 90);
  EXPECT_EQ((c[{0, 1}]), 10);
  EXPECT_EQ((c[{1, 0}]), 10);
  EXPECT_EQ((c[{1, 1}]), 1);  // val_fraction of m, at least one
  for (std::int64_t label = 0; label < 4; ++label) EXPECT_EQ((c[{2, label}]), 20) << label;
  EXPECT_EQ(a.class_names, (std::vector<std::string>{"a", "c", "b", "d"}));  // normal, known, the others in id order
  // No other class in train or val without pollution.
  for (const auto& [key, n] : c)
    if (key.first < 2) {
      EXPECT_LE(key.second, 1) << key.first;
    }
}

TEST(ImportProtocol, KnownCountPollutionAndSeeds) {
  data::ImportProtocol p;
  p.normal = {0, 1};
  p.known = 3;
  p.known_count = 7;
  p.pollution = 0.1;  // of the 180 normal train samples: round(0.1 * 180 / 0.9) = 20 anomalies
  const auto a = data::assign_samples(four_classes(true), kNames, true, p);
  auto c = counts(a);
  EXPECT_EQ((c[{0, 0}]), 180);
  EXPECT_EQ((c[{0, 1}]), 7);
  EXPECT_EQ((c[{0, 2}]), 20);  // pollution: only the class that is neither normal nor known
  EXPECT_EQ(a.class_names[0], "normal");  // several normal classes
  const auto same = data::assign_samples(four_classes(true), kNames, true, p);
  EXPECT_EQ(a.split, same.split);
  p.seed = 1;
  const auto other = data::assign_samples(four_classes(true), kNames, true, p);
  EXPECT_NE(a.split, other.split);
  EXPECT_EQ(counts(other), c);
}

TEST(ImportProtocol, SourcesWithoutATestPartDrawTestFractionOfEveryClass) {
  data::ImportProtocol p;
  p.normal = {1};
  p.test_fraction = 0.25;
  const auto a = data::assign_samples(four_classes(false), kNames, false, p);
  auto c = counts(a);
  // No known class: label 1 is unused, the other classes are 2, 3, 4.
  for (std::int64_t label : {0, 2, 3, 4}) EXPECT_EQ((c[{2, label}]), 25) << label;
  EXPECT_EQ((c[{0, 0}]), 67);  // 75 left, round(0.1 * 75) = 8 to val
  EXPECT_EQ((c[{1, 0}]), 8);
}

TEST(ImportProtocol, ImpossibleRequestsNameTheOption) {
  data::ImportProtocol p;
  p.normal = {0};
  p.known = 1;
  p.known_count = 500;
  auto run = [&] { data::assign_samples(four_classes(true), kNames, true, p); };
  EXPECT_THROW(run(), std::invalid_argument);
  try {
    run();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("--known-count"), std::string::npos) << e.what();
  }
  p.known_count = 5;
  p.known = 0;
  EXPECT_THROW(run(), std::invalid_argument);  // known is normal
  EXPECT_THROW(data::parse_classes("--normal", "e", kNames), std::invalid_argument);
  EXPECT_EQ(data::parse_classes("--normal", "c,0,c", kNames), (std::vector<int>{2, 0}));
}

TEST(ImportReaders, IdxPlainAndGzippedAndTheirRefusals) {
  TempDir dir;
  const auto bytes = idx_bytes({2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  write_file(dir.file("x.idx"), bytes);
  write_gz(dir.file("x.idx.gz"), bytes);
  for (const auto& name : {"x.idx", "x.idx.gz"}) {
    const auto a = io::read_idx(dir.file(name));
    EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 2, 3}));
    EXPECT_EQ(a.values[11], 11);
  }
  write_file(dir.file("bad.idx"), std::string("\x01\x02\x08\x01", 4));
  expect_error([&] { io::read_idx(dir.file("bad.idx")); }, {dir.file("bad.idx"), "bad magic"});
  write_file(dir.file("short.idx"), bytes.substr(0, bytes.size() - 3));
  expect_error([&] { io::read_idx(dir.file("short.idx")); }, {dir.file("short.idx"), "truncated"});
  expect_error([&] { io::read_idx(dir.file("none.idx")); }, {dir.file("none.idx"), "cannot be opened"});
  // Labels that do not match the images.
  write_file(dir.file("labels.idx"), idx_bytes({3}, {0, 1, 1}));
  expect_error([&] { data::load_idx(dir.file("x.idx"), dir.file("labels.idx"), "", "", ""); },
               {dir.file("labels.idx"), "3 labels for the 2 images"});
}

TEST(ImportReaders, TablesWithAndWithoutHeader) {
  TempDir dir;
  write_file(dir.file("t.csv"), "x,y,kind\n1,2,ok\n3.5,-4,bad\n");
  auto t = io::read_table(dir.file("t.csv"), "");
  EXPECT_EQ(t.rows(), 2);
  EXPECT_EQ(t.columns, 2);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"ok", "bad"}));
  EXPECT_FLOAT_EQ(t.values[2], 3.5f);
  t = io::read_table(dir.file("t.csv"), "kind");  // the label column by name
  EXPECT_EQ(t.labels, (std::vector<std::string>{"ok", "bad"}));
  // Another label column leaves a text column among the numbers: refused.
  expect_error([&] { io::read_table(dir.file("t.csv"), "x"); }, {"line 2 column 3", "'ok' is not a number"});
  write_file(dir.file("t.tsv"), "0\t1.5\t7\n1\t2.5\t8\n");
  t = io::read_table(dir.file("t.tsv"), "0");  // by index, no header
  EXPECT_EQ(t.labels, (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(t.values, (std::vector<float>{1.5f, 7, 2.5f, 8}));
  write_file(dir.file("bad.csv"), "x,y,kind\n1,2,ok\n3,abc,bad\n");
  expect_error([&] { io::read_table(dir.file("bad.csv"), ""); }, {dir.file("bad.csv"), "line 3 column 2", "'abc'"});
  write_file(dir.file("ragged.csv"), "1,2,a\n3,b\n");
  expect_error([&] { io::read_table(dir.file("ragged.csv"), ""); }, {"line 2", "2 cells"});
  expect_error([&] { io::read_table(dir.file("t.csv"), "z"); }, {"no column 'z'"});
}

TEST(ImportReaders, PngFolderOneSubFolderPerClass) {
  TempDir dir;
  for (const auto& [cls, n] : {std::pair{"good", 3}, std::pair{"scratch", 2}}) {
    std::filesystem::create_directories(dir.path() / cls);
    for (int k = 0; k < n; ++k)
      io::write_png_gray((dir.path() / cls / (std::to_string(k) + ".png")).string(),
                         std::vector<std::uint8_t>(4 * 5, static_cast<std::uint8_t>(50 * k)), 4, 5);
  }
  const auto s = data::load_png_folder(dir.path().string());
  EXPECT_EQ(s.class_names, (std::vector<std::string>{"good", "scratch"}));
  EXPECT_EQ(s.sample_shape, (std::vector<std::int64_t>{1, 4, 5}));
  EXPECT_EQ(s.samples.size(), 5u);
  EXPECT_EQ(s.bytes[20], 50);  // the second image of "good"
  io::write_png_gray((dir.path() / "scratch" / "odd.png").string(), std::vector<std::uint8_t>(9, 0), 3, 3);
  expect_error([&] { data::load_png_folder(dir.path().string()); }, {"odd.png", "is 3x3"});
}

TEST(ImportWriter, WritesTheDatasetLayout) {
  TempDir dir;
  write_file(dir.file("t.csv"), [] {
    std::string s = "a,b,label\n";
    for (int k = 0; k < 60; ++k) s += std::to_string(k) + "," + std::to_string(-k) + "," + (k % 3 ? "ok" : "bad") + "\n";
    return s;
  }());
  const auto source = data::load_table(dir.file("t.csv"), "label");
  data::ImportProtocol p;
  p.normal = data::parse_classes("--normal", "ok", source.class_names);
  p.known = data::parse_classes("--known", "bad", source.class_names)[0];
  p.known_count = 4;
  const auto a = data::assign_samples(source.samples, source.class_names, false, p);
  const auto n = data::write_dataset(dir.file("d.h5"), source, a, "test import");
  io::H5File f(dir.file("d.h5"), io::H5File::Mode::read);
  EXPECT_EQ(f.shape("samples"), (std::vector<std::int64_t>{n, 2}));
  EXPECT_FALSE(f.is_integer("samples"));
  EXPECT_EQ(f.attr_string("class_names"), "ok,bad");
  EXPECT_EQ(f.attr_string("description"), "test import");
  const auto labels = f.read_i64("labels"), split = f.read_i64("split");
  EXPECT_EQ(std::count(labels.begin(), labels.end(), 1), 4 + 1 + 4);  // train, val, test (20% of 20)
  EXPECT_TRUE(std::is_sorted(split.begin(), split.end()));            // train, then val, then test
  // Each row is the table's row: b = -a.
  const auto samples = f.read_f32("samples");
  for (std::int64_t k = 0; k < n; ++k) EXPECT_EQ(samples[2 * k + 1], -samples[2 * k]);
}
