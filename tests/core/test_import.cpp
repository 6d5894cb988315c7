// The importers: the protocol's counts and choices, the IDX, table and PNG
// readers on tiny files made here, their refusals, and the written layout.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <hdf5.h>
#include <png.h>

#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include "data/import_protocol.h"
#include "data/importers.h"
#include "io/hdf5_file.h"
#include "io/idx_file.h"
#include "io/png.h"
#include "io/table_file.h"
#include "../support/temp_dir.h"

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

// Protocol refusals are std::invalid_argument (a bad option, not bad data).
template <typename F>
void expect_invalid(F&& call, const std::vector<std::string>& parts) {
  expect_error<std::invalid_argument>(std::forward<F>(call), parts);
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
  expect_error([&] { io::read_table(dir.file("t.csv"), "x"); }, {"line 2 column 3 (kind)", "'ok' is not a finite number"});
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

TEST(ImportProtocol, PollutionNeverUsesTheKnownClassAndValCountsFollowM) {
  data::ImportProtocol p;
  p.normal = {0};
  p.known = 1;
  p.known_count = 30;
  p.pollution = 0.25;  // n = 90: round(0.25 * 90 / 0.75) = 30 anomalies of classes 2 and 3 only
  const auto samples = four_classes(true);
  const auto a = data::assign_samples(samples, kNames, true, p);
  auto c = counts(a);
  EXPECT_EQ((c[{0, 1}]), 30);  // every label-1 train sample is a labelled one: exactly m
  EXPECT_EQ((c[{1, 1}]), 3);   // val: round(0.1 * 30)
  EXPECT_EQ((c[{0, 2}]) + (c[{0, 3}]), 30);
  EXPECT_GT((c[{0, 2}]), 0);  // drawn from both other classes together
  EXPECT_GT((c[{0, 3}]), 0);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (a.split[i] == 0 && a.label[i] >= 2) {
      EXPECT_GE(samples[i].class_id, 2) << i;
      EXPECT_FALSE(samples[i].from_test) << i;
    }
    if (samples[i].from_test) {
      EXPECT_EQ(a.split[i], 2) << i;  // the source's test part stays the test split, all classes
    }
  }
  // The unused train-source samples of non-normal classes are dropped: 100 - 33 known, 200 - 30 others.
  EXPECT_EQ(std::count(a.split.begin(), a.split.end(), -1), 67 + 170);
  // The counts table agrees.
  EXPECT_EQ(a.counts[0][1], 30);
  EXPECT_EQ(a.counts[2][3], 20);
  const auto table = data::summary_table(a);
  EXPECT_NE(table.find("total"), std::string::npos) << table;
  EXPECT_NE(table.find("b"), std::string::npos) << table;
  EXPECT_NE(a.protocol.find("m = 30"), std::string::npos) << a.protocol;
  // Asking more pollution than the other classes hold is refused, naming the option.
  p.pollution = 0.9;
  expect_invalid([&] { data::assign_samples(samples, kNames, true, p); }, {"--pollution"});
}

TEST(ImportProtocol, KnownCountZeroAndNoKnownClassAreUnsupervised) {
  data::ImportProtocol p;
  p.normal = {0};
  const auto a = data::assign_samples(four_classes(true), kNames, true, p);
  auto c = counts(a);
  EXPECT_EQ((c[{0, 1}]), 0);
  EXPECT_EQ((c[{1, 1}]), 0);
  EXPECT_EQ(a.class_names[1], "defect");
  EXPECT_EQ((c[{2, 1}]), 0);  // no class has label 1
  p.known_ratio = 0.1;        // without --known
  expect_invalid([&] { data::assign_samples(four_classes(true), kNames, true, p); }, {"--known"});
  p.known_ratio = -1;
  p.val_fraction = 1.5;
  expect_invalid([&] { data::assign_samples(four_classes(true), kNames, true, p); }, {"--val-fraction", "1.5"});
}

TEST(ImportProtocol, SameSeedSameChoicesOtherSeedOtherChoices) {
  data::ImportProtocol p;
  p.normal = {0};
  p.known = 1;
  p.known_count = 10;
  p.pollution = 0.1;
  const auto samples = four_classes(false);
  const auto a = data::assign_samples(samples, kNames, false, p);
  const auto b = data::assign_samples(samples, kNames, false, p);
  EXPECT_EQ(a.split, b.split);
  EXPECT_EQ(a.label, b.label);
  p.seed = 12345;
  const auto other = data::assign_samples(samples, kNames, false, p);
  // The counts of normal and known samples do not depend on the seed, nor the
  // number of polluting ones (how they fall on classes 2 and 3 does).
  for (int split = 0; split < 3; ++split)
    for (int label = 0; label < 2; ++label) EXPECT_EQ(other.counts[split][label], a.counts[split][label]);
  EXPECT_EQ(other.counts[0][2] + other.counts[0][3], a.counts[0][2] + a.counts[0][3]);
  // Which known defects are labelled does.
  std::vector<std::size_t> known_a, known_other;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (a.split[i] == 0 && a.label[i] == 1) known_a.push_back(i);
    if (other.split[i] == 0 && other.label[i] == 1) known_other.push_back(i);
  }
  EXPECT_EQ(known_a.size(), 10u);
  EXPECT_NE(known_a, known_other);
}

TEST(ImportReaders, IdxRefusalsNameTheProblem) {
  TempDir dir;
  const auto bytes = idx_bytes({2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  write_file(dir.file("long.idx"), bytes + "x");
  expect_error([&] { io::read_idx(dir.file("long.idx")); }, {dir.file("long.idx"), "more bytes"});
  auto floats = bytes;
  floats[2] = 0x0d;
  write_file(dir.file("f.idx"), floats);
  expect_error([&] { io::read_idx(dir.file("f.idx")); }, {dir.file("f.idx"), "type 0x0d"});
  write_gz(dir.file("short.idx.gz"), bytes.substr(0, 10));
  expect_error([&] { io::read_idx(dir.file("short.idx.gz")); }, {dir.file("short.idx.gz"), "truncated"});
  // A header whose dimensions multiply past any sane size, without wrapping around.
  write_file(dir.file("huge.idx"), idx_bytes({0xffffffffu, 0xffffffffu, 0xffffffffu}, {}));
  expect_error([&] { io::read_idx(dir.file("huge.idx")); }, {dir.file("huge.idx"), "impossible size"});
}

TEST(ImportReaders, TableHeaderDetectionSeparatorsAndLabels) {
  TempDir dir;
  // No header, text labels in the last column: the first line is data.
  write_file(dir.file("t.txt"), "1\t2\tok\n3\t4\tbad\n");
  auto t = io::read_table(dir.file("t.txt"), "");
  EXPECT_TRUE(t.header.empty());
  EXPECT_EQ(t.rows(), 2);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"ok", "bad"}));
  // Quoted cells, as spreadsheets export them: the quotes are dropped.
  write_file(dir.file("q.csv"), "\"x\",\"y\",\"class\"\n1,2,\"a\"\n");
  t = io::read_table(dir.file("q.csv"), "class");
  EXPECT_EQ(t.header, (std::vector<std::string>{"x", "y", "class"}));
  EXPECT_EQ(t.labels, (std::vector<std::string>{"a"}));
  write_file(dir.file("nan.csv"), "1,2,a\n1,nan,a\n");  // non-finite values are refused like text
  expect_error([&] { io::read_table(dir.file("nan.csv"), ""); }, {"line 2 column 2", "'nan'"});
  write_file(dir.file("empty_label.csv"), "1,2,a\n3,4,\n");
  expect_error([&] { io::read_table(dir.file("empty_label.csv"), ""); }, {"line 2 column 3", "label is empty"});
  write_file(dir.file("header_only.csv"), "x,y,label\n");
  expect_error([&] { io::read_table(dir.file("header_only.csv"), ""); }, {"no data rows"});
  expect_error([&] { io::read_table(dir.file("missing.csv"), ""); }, {dir.file("missing.csv"), "cannot be opened"});
  // Integer labels become classes in numeric order.
  write_file(dir.file("n.csv"), "1,10\n2,2\n3,1\n");
  EXPECT_EQ(data::load_table(dir.file("n.csv"), "").class_names, (std::vector<std::string>{"1", "2", "10"}));
}

TEST(ImportReaders, ColourPngsAreReadAsGray) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "rgb");
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = 2;
  image.height = 1;
  image.format = PNG_FORMAT_RGB;
  const std::uint8_t pixels[6] = {255, 255, 255, 0, 0, 0};  // white, black
  ASSERT_NE(png_image_write_to_file(&image, (dir.path() / "rgb" / "a.PNG").c_str(), 0, pixels, 0, nullptr), 0);
  const auto s = data::load_png_folder(dir.path().string());
  EXPECT_EQ(s.sample_shape, (std::vector<std::int64_t>{1, 1, 2}));
  EXPECT_EQ(s.bytes, (std::vector<std::uint8_t>{255, 0}));
  expect_error([&] { data::load_png_folder(dir.file("none")); }, {dir.file("none"), "not a directory"});
}

TEST(ImportWriter, IdxEndToEndWithChunkedUint8Samples) {
  TempDir dir;
  // 300 train images of 2x2 pixels (class k % 3, every pixel = k % 251) and 30 test ones.
  auto images = [](int n, int offset) {
    std::vector<std::uint8_t> v;
    for (int k = 0; k < n; ++k) v.insert(v.end(), 4, static_cast<std::uint8_t>((k + offset) % 251));
    return v;
  };
  auto labels = [](int n) {
    std::vector<std::uint8_t> v;
    for (int k = 0; k < n; ++k) v.push_back(static_cast<std::uint8_t>(k % 3));
    return v;
  };
  write_gz(dir.file("train-images.gz"), idx_bytes({300, 2, 2}, images(300, 0)));
  write_gz(dir.file("train-labels.gz"), idx_bytes({300}, labels(300)));
  write_file(dir.file("test-images"), idx_bytes({30, 2, 2}, images(30, 7)));
  write_file(dir.file("test-labels"), idx_bytes({30}, labels(30)));
  const auto source = data::load_idx(dir.file("train-images.gz"), dir.file("train-labels.gz"), dir.file("test-images"),
                                     dir.file("test-labels"), "zero,one,two");
  EXPECT_TRUE(source.has_test_part);
  data::ImportProtocol p;
  p.normal = data::parse_classes("--normal", "zero", source.class_names);
  p.known = data::parse_classes("--known", "2", source.class_names)[0];
  p.known_ratio = 0.1;  // n = 90 of class 0 (10 to val): m = 10, 1 to val
  const auto a = data::assign_samples(source.samples, source.class_names, source.has_test_part, p);
  const auto path = dir.file("out/d.h5");
  std::filesystem::create_directories(dir.path() / "out");
  const auto n = data::write_dataset(path, source, a, "idx test");
  EXPECT_EQ(n, 90 + 10 + 10 + 1 + 30);
  io::H5File f(path, io::H5File::Mode::read);
  EXPECT_EQ(f.shape("samples"), (std::vector<std::int64_t>{n, 1, 2, 2}));
  EXPECT_TRUE(f.is_integer("samples"));
  EXPECT_EQ(f.attr_string("class_names"), "zero,two,one");
  const auto split = f.read_i64("split"), label = f.read_i64("labels");
  EXPECT_EQ(std::count(split.begin(), split.end(), 2), 30);
  EXPECT_EQ(std::count(split.begin(), split.end(), 1), 11);
  // The rows are the source's images: the kept samples in split order, source order within.
  std::vector<std::uint8_t> expected;
  for (int s = 0; s < 3; ++s)
    for (std::size_t i = 0; i < a.split.size(); ++i)
      if (a.split[i] == s) expected.push_back(source.bytes[4 * i]);
  const auto samples = f.read_f32("samples");
  for (std::int64_t k = 0; k < n; ++k) ASSERT_EQ(samples[4 * k + 3], expected[k]) << k;
  // /samples is chunked by whole rows (min(256, N)); /split is uint8.
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t dset = H5Dopen2(file, "samples", H5P_DEFAULT);
  const hid_t plist = H5Dget_create_plist(dset);
  EXPECT_EQ(H5Pget_layout(plist), H5D_CHUNKED);
  hsize_t chunk[4] = {};
  EXPECT_EQ(H5Pget_chunk(plist, 4, chunk), 4);
  EXPECT_EQ(chunk[0], static_cast<hsize_t>(std::min<std::int64_t>(256, n)));
  EXPECT_EQ(chunk[3], 2u);
  const hid_t split_set = H5Dopen2(file, "split", H5P_DEFAULT);
  const hid_t split_type = H5Dget_type(split_set);
  EXPECT_EQ(H5Tget_size(split_type), 1u);
  EXPECT_EQ(H5Tget_sign(split_type), H5T_SGN_NONE);
  H5Tclose(split_type);
  H5Dclose(split_set);
  H5Pclose(plist);
  H5Dclose(dset);
  H5Fclose(file);
}

// scikit-learn's bundled tables as they ship: digits.csv.gz (gzipped, no
// header, 64 pixels 0..16 then the label) and breast_cancer.csv (a metadata
// line "569,30,malignant,benign" on top, labels 0/1).
TEST(ImportReaders, GzippedTablesSkippedLinesNamesScaleAndShape) {
  TempDir dir;
  write_gz(dir.file("d.csv.gz"), "0,16,8,4,0\n16,0,4,8,1\n8,8,8,8,1\n");
  data::TableImport options;
  options.scale = 1.0 / 16;
  options.sample_shape = data::parse_shape("--sample-shape", "1,2,2");
  const auto d = data::load_table(dir.file("d.csv.gz"), options);
  EXPECT_EQ(d.sample_shape, (std::vector<std::int64_t>{1, 2, 2}));
  EXPECT_EQ(d.samples.size(), 3u);
  EXPECT_EQ(d.class_names, (std::vector<std::string>{"0", "1"}));
  EXPECT_FLOAT_EQ(d.floats[1], 1.0f);
  EXPECT_FLOAT_EQ(d.floats[6], 0.25f);
  options.sample_shape = {1, 3, 3};
  expect_invalid([&] { data::load_table(dir.file("d.csv.gz"), options); }, {"--sample-shape (1, 3, 3)", "4 features"});
  expect_invalid([&] { data::parse_shape("--sample-shape", "1,x,8"); }, {"--sample-shape '1,x,8'", "'x'"});

  write_file(dir.file("bc.csv"), "3,2,malignant,benign\n1.5,2,0\n3,4,1\n5,6,1\n");
  expect_error([&] { io::read_table(dir.file("bc.csv"), ""); }, {"line 2", "3 cells", "--skip-lines 1"});
  data::TableImport bc;
  bc.skip_lines = 1;
  bc.class_names = "malignant,benign";
  const auto b = data::load_table(dir.file("bc.csv"), bc);
  EXPECT_EQ(b.class_names, (std::vector<std::string>{"malignant", "benign"}));
  EXPECT_EQ(b.samples[0].class_id, 0);
  EXPECT_EQ(b.samples[2].class_id, 1);
  EXPECT_EQ(b.floats, (std::vector<float>{1.5f, 2, 3, 4, 5, 6}));
  bc.class_names = "a,b,c";
  expect_invalid([&] { data::load_table(dir.file("bc.csv"), bc); }, {"--class-names 'a,b,c' names 3 classes", "(0,1)"});
  expect_error([&] { io::read_table(dir.file("bc.csv"), "", 9); }, {"empty after the 9 skipped lines"});
}

TEST(ImportReaders, StandardizeUsesTheUnlabelledTrainSamplesOnly) {
  data::LabelledSource source;
  source.sample_shape = {2};
  source.floats = {1, 5, 3, 5, 100, 5, -50, 5};  // feature 2 is constant
  source.samples = {{0, false}, {0, false}, {1, false}, {0, false}};
  data::Assignment a;
  a.split = {data::kTrain, data::kTrain, data::kTrain, data::kTest};
  a.label = {0, 0, 1, 0};
  const auto rule = data::standardize(source, a);
  EXPECT_NE(rule.find("2 unlabelled train samples"), std::string::npos) << rule;
  EXPECT_NE(rule.find("1 constant"), std::string::npos) << rule;
  // Mean 2, standard deviation 1 from the first two rows; the labelled and the test row follow the same rule.
  EXPECT_EQ(source.floats, (std::vector<float>{-1, 0, 1, 0, 98, 0, -52, 0}));
  data::LabelledSource images;
  images.bytes = {1, 2};
  expect_invalid([&] { data::standardize(images, a); }, {"--standardize applies to table sources"});
}
