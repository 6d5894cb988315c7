#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/hdf5_file.h"
#include "io/sequence_file.h"
#include "../support/temp_dir.h"

namespace {

using cdae::io::H5File;
using cdae::io::read_sequences_h5;
using cdae::testing::TempDir;

using cdae::testing::expect_error;

// Writes a dataset of any HDF5 type with the plain C API, for the types
// H5File deliberately cannot write.
template <typename T>
void write_raw(const std::string& path, const std::string& name, hid_t file_type, hid_t mem_type,
               const std::vector<hsize_t>& dims, const std::vector<T>& data) {
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  const hid_t dset = H5Dcreate2(file, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(dset, 0);
  if (!data.empty()) {
    ASSERT_GE(H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
  }
  H5Dclose(dset);
  H5Sclose(space);
  H5Fclose(file);
}

TEST(Hdf5, RoundTripOfEveryType) {
  TempDir dir;
  const std::string path = dir.file("all.h5");
  const std::vector<float> f32 = {1.5f, -2.25f, 3.0e-8f, 4.0f, 5.0f, 6.0f};
  const double f64 = 3.141592653589793;
  const std::vector<std::int64_t> i64 = {std::numeric_limits<std::int64_t>::min(), -1, 0,
                                         std::numeric_limits<std::int64_t>::max()};
  const std::vector<std::uint8_t> u8 = {0, 1, 2, 127, 128, 200, 254, 255};
  {
    H5File file(path, H5File::Mode::truncate);
    file.write_f32("f32", {2, 3}, f32.data());
    file.write_f64("scalar", {}, &f64);
    file.write_i64("group/i64", {4}, i64.data());
    file.write_u8("group/deeper/u8", {2, 2, 2}, u8.data());
    file.write_f32("empty", {0, 3}, nullptr);
  }
  H5File file(path, H5File::Mode::read);
  std::vector<std::int64_t> shape;
  EXPECT_EQ(file.read_f32("f32", &shape), f32);
  EXPECT_EQ(shape, (std::vector<std::int64_t>{2, 3}));

  EXPECT_EQ(file.read_f64("/scalar", &shape), std::vector<double>{f64});
  EXPECT_TRUE(shape.empty()) << "a scalar has shape {}";
  EXPECT_EQ(file.shape("scalar"), std::vector<std::int64_t>{});

  EXPECT_EQ(file.read_i64("/group/i64", &shape), i64);
  EXPECT_EQ(shape, std::vector<std::int64_t>{4});

  EXPECT_EQ(file.shape("group/deeper/u8"), (std::vector<std::int64_t>{2, 2, 2}));
  const auto u8_as_i64 = file.read_i64("group/deeper/u8");
  ASSERT_EQ(u8_as_i64.size(), u8.size());
  for (std::size_t i = 0; i < u8.size(); ++i) EXPECT_EQ(u8_as_i64[i], u8[i]);

  // Conversions between number types happen on read.
  const auto f32_as_f64 = file.read_f64("f32");
  ASSERT_EQ(f32_as_f64.size(), f32.size());
  for (std::size_t i = 0; i < f32.size(); ++i) EXPECT_EQ(f32_as_f64[i], static_cast<double>(f32[i]));
  EXPECT_EQ(file.read_f32("group/deeper/u8")[7], 255.0f);

  EXPECT_TRUE(file.read_f32("empty", &shape).empty());
  EXPECT_EQ(shape, (std::vector<std::int64_t>{0, 3}));
}

TEST(Hdf5, DottedNamesGroupsAndList) {
  TempDir dir;
  const std::string path = dir.file("model.h5");
  const std::vector<float> w = {1, 2, 3, 4};
  {
    H5File file(path, H5File::Mode::truncate);
    file.write_f32("/model/spatial_encoder.1.weight", {2, 2}, w.data());
    file.write_f32("/model/spatial_encoder.1.bias", {2}, w.data());
    file.write_f32("/model/a.0.weight", {1}, w.data());
    file.write_f32("/optimizer/step", {1}, w.data());
  }
  H5File file(path, H5File::Mode::read);
  EXPECT_TRUE(file.exists("/model/spatial_encoder.1.weight"));
  EXPECT_TRUE(file.exists("model/spatial_encoder.1.bias"));
  EXPECT_TRUE(file.exists("/model"));
  EXPECT_TRUE(file.exists("/"));
  EXPECT_FALSE(file.exists("/model/spatial_encoder"));
  EXPECT_FALSE(file.exists("/nothing/here/at.all"));
  EXPECT_FALSE(file.exists(""));
  EXPECT_FALSE(file.exists("/model/a.0.weight/child"));
  EXPECT_EQ(file.read_f32("/model/spatial_encoder.1.weight"), w);
  EXPECT_EQ(file.list("/model"),
            (std::vector<std::string>{"a.0.weight", "spatial_encoder.1.bias", "spatial_encoder.1.weight"}));
  EXPECT_EQ(file.list("/"), (std::vector<std::string>{"model", "optimizer"}));
  expect_error([&] { file.list("/missing"); }, {path, "no group '/missing'"});
  expect_error([&] { file.list("/optimizer/step"); }, {path, "not a group"});
}

TEST(Hdf5, MissingDatasetErrorNamesFileAndDataset) {
  TempDir dir;
  const std::string path = dir.file("x.h5");
  const float one = 1.0f;
  { H5File(path, H5File::Mode::truncate).write_f32("/model/bar", {1}, &one); }
  H5File file(path, H5File::Mode::read);
  expect_error([&] { file.read_f32("/model/foo"); }, {"HDF5 file '" + path + "'", "no dataset '/model/foo'"});
  expect_error([&] { file.shape("/nope/foo"); }, {path, "no dataset '/nope/foo'"});
  expect_error([&] { file.read_f64("/model"); }, {path, "'/model' is not a dataset"});
}

TEST(Hdf5, WritingTwiceOrReadOnlyFails) {
  TempDir dir;
  const std::string path = dir.file("w.h5");
  const float one = 1.0f;
  {
    H5File file(path, H5File::Mode::truncate);
    file.write_f32("a", {1}, &one);
    expect_error([&] { file.write_f32("a", {1}, &one); }, {path, "'a' already exists"});
    expect_error([&] { file.write_f32("b", {-1}, &one); }, {path, "'b'"});
  }
  H5File file(path, H5File::Mode::read);
  expect_error([&] { file.write_f32("c", {1}, &one); }, {path, "read-only"});
  expect_error([&] { file.set_attr("x", 1.0); }, {path, "read-only"});
}

TEST(Hdf5, Attributes) {
  TempDir dir;
  const std::string path = dir.file("attrs.h5");
  {
    H5File file(path, H5File::Mode::truncate);
    file.set_attr("name", std::string("cdae run \xc3\xa9t\xc3\xa9"));
    file.set_attr("empty", std::string());
    file.set_attr("lr", 0.001);
    file.set_attr("step", std::int64_t{1234567890123});
    file.set_attr("overwritten", std::int64_t{1});
    file.set_attr("overwritten", std::int64_t{2});
    file.flush();
  }
  H5File file(path, H5File::Mode::read);
  EXPECT_TRUE(file.has_attr("name"));
  EXPECT_FALSE(file.has_attr("nope"));
  EXPECT_EQ(file.attr_string("name"), "cdae run \xc3\xa9t\xc3\xa9");
  EXPECT_EQ(file.attr_string("empty"), "");
  EXPECT_EQ(file.attr_f64("lr"), 0.001);
  EXPECT_EQ(file.attr_i64("step"), 1234567890123);
  EXPECT_EQ(file.attr_f64("step"), 1234567890123.0);
  EXPECT_EQ(file.attr_i64("overwritten"), 2);
  expect_error([&] { file.attr_i64("lr"); }, {path, "'lr'", "float64", "integer"});
  expect_error([&] { file.attr_string("step"); }, {path, "'step'", "string"});
  expect_error([&] { file.attr_f64("name"); }, {path, "'name'"});
  expect_error([&] { file.attr_string("nope"); }, {path, "no attribute 'nope'"});
}

// h5py reads variable-length strings as str; check the stored type directly.
TEST(Hdf5, StringAttributeIsVariableLengthUtf8) {
  TempDir dir;
  const std::string path = dir.file("s.h5");
  { H5File(path, H5File::Mode::truncate).set_attr("config", std::string("{\"a\": 1}")); }
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t attr = H5Aopen(file, "config", H5P_DEFAULT);
  ASSERT_GE(attr, 0);
  const hid_t type = H5Aget_type(attr);
  EXPECT_EQ(H5Tget_class(type), H5T_STRING);
  EXPECT_GT(H5Tis_variable_str(type), 0);
  EXPECT_EQ(H5Tget_cset(type), H5T_CSET_UTF8);
  H5Tclose(type);
  H5Aclose(attr);
  H5Fclose(file);
}

TEST(Hdf5, FixedLengthStringAttributeIsReadable) {
  TempDir dir;
  const std::string path = dir.file("fixed.h5");
  { H5File(path, H5File::Mode::truncate).flush(); }
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, 8);
  H5Tset_strpad(type, H5T_STR_NULLPAD);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t attr = H5Acreate2(file, "fixed", type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char value[8] = {'a', 'b', 'c', 0, 0, 0, 0, 0};
  ASSERT_GE(H5Awrite(attr, type, value), 0);
  H5Aclose(attr);
  H5Sclose(space);
  // Exactly as long as the type, with no terminator at all.
  const hid_t full_type = H5Tcopy(H5T_C_S1);
  H5Tset_size(full_type, 4);
  H5Tset_strpad(full_type, H5T_STR_NULLPAD);
  const hid_t space2 = H5Screate(H5S_SCALAR);
  const hid_t attr2 = H5Acreate2(file, "full", full_type, space2, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(H5Awrite(attr2, full_type, "wxyz"), 0);
  H5Aclose(attr2);
  H5Sclose(space2);
  H5Tclose(full_type);
  H5Tclose(type);
  H5Fclose(file);

  H5File reader(path, H5File::Mode::read);
  EXPECT_EQ(reader.attr_string("fixed"), "abc");
  EXPECT_EQ(reader.attr_string("full"), "wxyz");
}

TEST(Hdf5, OpeningBadFilesNamesThem) {
  TempDir dir;
  const std::string missing = dir.file("missing.h5");
  expect_error([&] { H5File f(missing, H5File::Mode::read); }, {"HDF5 file '" + missing + "'", "no such file"});
  const std::string text = dir.file("text.h5");
  cdae::testing::write_file(text, "not an HDF5 file at all");
  expect_error([&] { H5File f(text, H5File::Mode::read); }, {"HDF5 file '" + text + "'", "cannot open"});
  expect_error([&] { H5File f(dir.file("no/dir/x.h5"), H5File::Mode::truncate); }, {"no/dir/x.h5", "cannot create"});
  expect_error([&] { read_sequences_h5(missing, "x"); }, {missing});
}

// ------------------------------------------------------------ sequences

TEST(Hdf5Sequences, Accepts4dUint8) {
  TempDir dir;
  const std::string path = dir.file("seq_u8.h5");
  std::vector<std::uint8_t> data(2 * 3 * 4 * 5);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 2);
  { H5File(path, H5File::Mode::truncate).write_u8("sequences", {2, 3, 4, 5}, data.data()); }
  const auto seq = read_sequences_h5(path, "sequences");
  EXPECT_EQ(seq.shape, (std::vector<std::int64_t>{2, 1, 3, 4, 5}));
  ASSERT_EQ(seq.values.size(), data.size());
  for (std::size_t i = 0; i < data.size(); ++i) ASSERT_FLOAT_EQ(seq.values[i], data[i] / 255.0f);
  EXPECT_EQ(seq.values.back(), 238 / 255.0f);
}

TEST(Hdf5Sequences, Accepts5dFloat32AndFloat64) {
  TempDir dir;
  const std::string path = dir.file("seq_f.h5");
  std::vector<float> f32(1 * 2 * 3 * 2 * 2);
  std::vector<double> f64(f32.size());
  for (std::size_t i = 0; i < f32.size(); ++i) {
    f32[i] = static_cast<float>(i) * 0.25f - 1.0f;
    f64[i] = static_cast<double>(i) / 3.0;
  }
  {
    H5File file(path, H5File::Mode::truncate);
    file.write_f32("/data/f32", {1, 2, 3, 2, 2}, f32.data());
    file.write_f64("/data/f64", {1, 2, 3, 2, 2}, f64.data());
  }
  const auto a = read_sequences_h5(path, "/data/f32");
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{1, 2, 3, 2, 2}));
  EXPECT_EQ(a.values, f32);
  const auto b = read_sequences_h5(path, "/data/f64");
  EXPECT_EQ(b.shape, (std::vector<std::int64_t>{1, 2, 3, 2, 2}));
  ASSERT_EQ(b.values.size(), f64.size());
  for (std::size_t i = 0; i < f64.size(); ++i) EXPECT_EQ(b.values[i], static_cast<float>(f64[i]));
}

TEST(Hdf5Sequences, RejectsWrongRank) {
  TempDir dir;
  const std::string path = dir.file("rank3.h5");
  const std::vector<float> data(2 * 3 * 4, 0.5f);
  { H5File(path, H5File::Mode::truncate).write_f32("seq", {2, 3, 4}, data.data()); }
  expect_error([&] { read_sequences_h5(path, "seq"); },
               {path, "'seq'", "rank 3", "(2, 3, 4)", "(N, C, T, H, W) or (N, T, H, W)"});
  const std::vector<float> six(1, 0.5f);
  const std::string path6 = dir.file("rank6.h5");
  { H5File(path6, H5File::Mode::truncate).write_f32("seq", {1, 1, 1, 1, 1, 1}, six.data()); }
  expect_error([&] { read_sequences_h5(path6, "seq"); }, {path6, "rank 6"});
}

TEST(Hdf5Sequences, RejectsOtherDtypes) {
  TempDir dir;
  const std::string i16 = dir.file("int16.h5");
  write_raw<std::int16_t>(i16, "seq", H5T_STD_I16LE, H5T_NATIVE_INT16, {1, 2, 2, 2}, std::vector<std::int16_t>(8, 7));
  expect_error([&] { read_sequences_h5(i16, "seq"); }, {i16, "'seq'", "int16", "uint8", "float32", "float64"});

  const std::string i8 = dir.file("int8.h5");
  write_raw<std::int8_t>(i8, "seq", H5T_STD_I8LE, H5T_NATIVE_INT8, {1, 2, 2, 2}, std::vector<std::int8_t>(8, 7));
  expect_error([&] { read_sequences_h5(i8, "seq"); }, {i8, "int8"});

  const std::string i64 = dir.file("int64.h5");
  const std::vector<std::int64_t> ones(8, 1);
  { H5File(i64, H5File::Mode::truncate).write_i64("seq", {1, 2, 2, 2}, ones.data()); }
  expect_error([&] { read_sequences_h5(i64, "seq"); }, {i64, "int64"});

  const std::string f16 = dir.file("f16_like_u16.h5");
  write_raw<std::uint16_t>(f16, "seq", H5T_STD_U16LE, H5T_NATIVE_UINT16, {1, 2, 2, 2},
                           std::vector<std::uint16_t>(8, 7));
  expect_error([&] { read_sequences_h5(f16, "seq"); }, {f16, "uint16"});
}

TEST(Hdf5Sequences, RejectsEmptyMissingAndNonFinite) {
  TempDir dir;
  const std::string path = dir.file("bad.h5");
  std::vector<float> data(2 * 2 * 2 * 2, 0.25f);
  {
    H5File file(path, H5File::Mode::truncate);
    file.write_f32("zero", {0, 2, 2, 2}, nullptr);
    file.write_f32("zero5", {2, 2, 0, 2, 2}, nullptr);
    data[5] = std::numeric_limits<float>::quiet_NaN();
    file.write_f32("nan", {2, 2, 2, 2}, data.data());
  }
  expect_error([&] { read_sequences_h5(path, "zero"); }, {path, "'zero'", "empty dimension", "(0, 2, 2, 2)"});
  expect_error([&] { read_sequences_h5(path, "zero5"); }, {path, "'zero5'", "(2, 2, 0, 2, 2)"});
  expect_error([&] { read_sequences_h5(path, "missing"); }, {path, "no dataset 'missing'"});
  expect_error([&] { read_sequences_h5(path, "/"); }, {path, "not a dataset"});
  expect_error([&] { read_sequences_h5(path, "nan"); }, {path, "'nan'", "non-finite", "index 5"});
}

TEST(Hdf5Sequences, RejectsDatasetWithoutStoredData) {
  // Created but never written: reading would return only fill values.
  TempDir dir;
  const std::string path = dir.file("unwritten.h5");
  write_raw<float>(path, "seq", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {1, 2, 2, 2}, {});
  expect_error([&] { read_sequences_h5(path, "seq"); }, {path, "'seq'", "stores only 0 of the 32 bytes"});
}

// Precision 7 in an 8-bit container: legal HDF5, but a layout numpy never
// writes, and damaged files look like this (it crashed libhdf5's soft
// conversion while fuzzing). Refused before any conversion happens.
TEST(Hdf5Sequences, RejectsNonStandardBitLayout) {
  TempDir dir;
  const std::string path = dir.file("odd.h5");
  const hid_t odd = H5Tcopy(H5T_STD_U8LE);
  ASSERT_GE(H5Tset_precision(odd, 7), 0);
  write_raw<std::uint8_t>(path, "seq", odd, H5T_NATIVE_UINT8, {1, 2, 2, 2}, std::vector<std::uint8_t>(8, 3));
  H5Tclose(odd);
  expect_error([&] { read_sequences_h5(path, "seq"); }, {path, "'seq'", "non-standard bit layout"});
  H5File file(path, H5File::Mode::read);
  expect_error([&] { file.read_f32("seq"); }, {path, "'seq'", "non-standard bit layout"});
}

TEST(Hdf5Sequences, ReadsChunkedAndCompressedBigEndian) {
  TempDir dir;
  const std::string path = dir.file("chunked.h5");
  const hsize_t dims[5] = {3, 1, 2, 4, 5};
  const hsize_t chunk[5] = {2, 1, 1, 4, 3};  // edge chunks are partial
  std::vector<double> data(3 * 2 * 4 * 5);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<double>(i) * 0.5 - 7.0;
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(5, dims, nullptr);
  for (const char* name : {"plain", "gzip"}) {
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 5, chunk);
    if (std::string(name) == "gzip") {
      H5Pset_shuffle(dcpl);
      H5Pset_deflate(dcpl, 6);
    }
    const hid_t dset = H5Dcreate2(file, name, H5T_IEEE_F64BE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    ASSERT_GE(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
    H5Dclose(dset);
    H5Pclose(dcpl);
  }
  H5Sclose(space);
  H5Fclose(file);
  for (const char* name : {"plain", "gzip"}) {
    const auto seq = read_sequences_h5(path, name);
    EXPECT_EQ(seq.shape, (std::vector<std::int64_t>{3, 1, 2, 4, 5})) << name;
    ASSERT_EQ(seq.values.size(), data.size()) << name;
    for (std::size_t i = 0; i < data.size(); ++i) ASSERT_EQ(seq.values[i], static_cast<float>(data[i])) << name << " " << i;
  }
}

// The chunk checks in read_sequences_h5 must not refuse the layouts h5py and
// the HDF5 library produce: every chunk index type, chunks larger than the
// dataset (resizable datasets). Partly written datasets are refused.
TEST(Hdf5Sequences, AcceptsEveryChunkIndexLayout) {
  TempDir dir;
  for (bool latest : {false, true}) {
    const std::string path = dir.file(latest ? "latest.h5" : "earliest.h5");
    const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (latest) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    const hsize_t dims[4] = {2, 3, 4, 4};
    const hsize_t unlimited[4] = {H5S_UNLIMITED, 3, 4, 4};
    std::vector<std::uint8_t> data(2 * 3 * 4 * 4);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
    struct Layout {
      const char* name;
      std::vector<hsize_t> chunk;
      bool resizable;
      bool early;
    };
    const Layout layouts[] = {
        {"single", {2, 3, 4, 4}, false, false},     // one chunk
        {"fixed", {1, 3, 2, 4}, false, false},      // fixed array index
        {"implicit", {1, 3, 2, 4}, false, true},    // early allocation
        {"extensible", {1, 3, 4, 4}, true, false},  // one unlimited dim
        {"oversized", {8, 3, 4, 4}, true, false},   // chunk larger than the data
    };
    for (const Layout& layout : layouts) {
      const hid_t space = H5Screate_simple(4, dims, layout.resizable ? unlimited : nullptr);
      const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      H5Pset_chunk(dcpl, 4, layout.chunk.data());
      if (layout.early) H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
      const hid_t dset = H5Dcreate2(file, layout.name, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
      ASSERT_GE(dset, 0) << layout.name;
      ASSERT_GE(H5Dwrite(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
      H5Dclose(dset);
      H5Pclose(dcpl);
      H5Sclose(space);
    }
    {
      // Only the first sequence written: the other chunks are never allocated.
      const hid_t space = H5Screate_simple(4, dims, nullptr);
      const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
      const hsize_t chunk[4] = {1, 3, 4, 4};
      H5Pset_chunk(dcpl, 4, chunk);
      const hid_t dset = H5Dcreate2(file, "partial", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
      const hsize_t start[4] = {0, 0, 0, 0};
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, chunk, nullptr);
      const hid_t mem = H5Screate_simple(4, chunk, nullptr);
      ASSERT_GE(H5Dwrite(dset, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, data.data()), 0);
      H5Sclose(mem);
      H5Dclose(dset);
      H5Pclose(dcpl);
      H5Sclose(space);
    }
    H5Fclose(file);

    for (const Layout& layout : layouts) {
      const auto seq = read_sequences_h5(path, layout.name);
      EXPECT_EQ(seq.shape, (std::vector<std::int64_t>{2, 1, 3, 4, 4})) << path << " " << layout.name;
      ASSERT_EQ(seq.values.size(), data.size());
      for (std::size_t i = 0; i < data.size(); ++i) ASSERT_EQ(seq.values[i], data[i] / 255.0f) << layout.name;
    }
    expect_error([&] { read_sequences_h5(path, "partial"); }, {path, "'partial'", "1 of its 2 chunks", "partly written"});
  }
}

}  // namespace
