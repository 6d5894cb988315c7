// Seeded mutation fuzzing of the file readers: every damaged file must give
// either a sane result or a std::exception, never a crash or a sanitizer
// report. Deterministic (fixed seed) and bounded so it runs in every ctest.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "io/hdf5_file.h"
#include "io/sequence_file.h"
#include "io/png.h"
#include "../support/temp_dir.h"

// Sanitizer settings for this test binary (ignored in normal builds).
// HDF5 sizes metadata buffers from lengths stored in the file and turns a
// failed malloc into an ordinary error. ASan by default aborts on huge
// requests instead, or grants them without reserving memory (which HDF5 then
// zero-fills until the machine runs out). Make malloc fail beyond 4 GiB as
// a normal allocator would on a damaged length.
extern "C" __attribute__((visibility("default"), used)) const char* __asan_default_options() {
  return "allocator_may_return_null=1:max_allocation_size_mb=4096";
}
// libhdf5 1.10 leaks a metadata-cache entry when opening some corrupt files
// fails (inside H5Fopen, nothing a caller can free). The library is not
// instrumented, so its allocations are only ever seen as leaks.
extern "C" __attribute__((visibility("default"), used)) const char* __lsan_default_suppressions() {
  return "leak:libhdf5\n";
}

namespace {

using cdae::testing::read_file;
using cdae::testing::TempDir;
using cdae::testing::write_file;

// CDAE_FUZZ_ITERATIONS and CDAE_FUZZ_SEED allow longer campaigns by hand;
// the defaults keep ctest fast and reproducible.
int iterations() {
  const char* env = std::getenv("CDAE_FUZZ_ITERATIONS");
  return env != nullptr ? std::atoi(env) : 300;
}

std::uint32_t seed_or(std::uint32_t fallback) {
  const char* env = std::getenv("CDAE_FUZZ_SEED");
  return env != nullptr ? static_cast<std::uint32_t>(std::strtoul(env, nullptr, 10)) : fallback;
}

std::string mutate(const std::string& original, std::mt19937& rng) {
  std::string bytes = original;
  auto pick = [&rng](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
  auto random_byte = [&rng] { return static_cast<char>(std::uniform_int_distribution<int>(0, 255)(rng)); };
  const int edits = std::uniform_int_distribution<int>(1, 4)(rng);
  for (int e = 0; e < edits && !bytes.empty(); ++e) {
    switch (std::uniform_int_distribution<int>(0, 5)(rng)) {
      case 0:  // flip one bit
        bytes[pick(bytes.size())] ^= static_cast<char>(1 << pick(8));
        break;
      case 1:  // overwrite a byte
        bytes[pick(bytes.size())] = random_byte();
        break;
      case 2:  // overwrite a byte with an extreme value (lengths, dimensions)
        bytes[pick(bytes.size())] = static_cast<char>(pick(2) == 0 ? 0x00 : 0xFF);
        break;
      case 3:  // truncate
        bytes.resize(pick(bytes.size()));
        break;
      case 4:  // insert a few random bytes
        bytes.insert(pick(bytes.size() + 1), std::string(1 + pick(8), '\0'));
        bytes[pick(bytes.size())] = random_byte();
        break;
      default:  // delete a run of bytes
        {
          const std::size_t at = pick(bytes.size());
          bytes.erase(at, 1 + pick(16));
        }
        break;
    }
  }
  return bytes;
}

// PNG chunks carry CRCs, so most raw mutants die at the first checksum.
// Recomputing them lets half of the mutants reach the header and pixel
// decoding, which is where a reader could go wrong.
std::string repair_png_crcs(std::string bytes) {
  std::size_t pos = 8;
  while (pos + 12 <= bytes.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + pos);
    const std::uint32_t length = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                 (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    if (length > bytes.size() - pos - 12) break;
    const std::uint32_t crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + pos + 4), static_cast<uInt>(length + 4)));
    for (int k = 0; k < 4; ++k) bytes[pos + 8 + length + k] = static_cast<char>((crc >> (24 - 8 * k)) & 0xFF);
    pos += 12 + length;
  }
  return bytes;
}

std::string valid_png(const TempDir& dir) {
  const int h = 24, w = 20;
  std::vector<std::uint8_t> pixels(h * w);
  for (int i = 0; i < h * w; ++i) pixels[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(i * 7);
  const std::string path = dir.file("seed.png");
  cdae::io::write_png_gray(path, pixels, h, w);
  return read_file(path);
}

std::string valid_sequences_h5(const TempDir& dir) {
  std::vector<std::uint8_t> data(2 * 3 * 8 * 8);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 13);
  const std::string path = dir.file("seed.h5");
  {
    cdae::io::H5File file(path, cdae::io::H5File::Mode::truncate);
    file.write_u8("sequences", {2, 3, 8, 8}, data.data());
    file.set_attr("note", std::string("fuzz seed"));
  }
  return read_file(path);
}

// 5-D float32, chunked, so mutants also reach the chunk index. Not
// compressed: libhdf5 1.10.8 trusts the chunk dimensions when it copies out
// of a filter's output, so a damaged gzip-compressed file can overrun a heap
// buffer inside H5Dread (found with this test; a library bug no caller-side
// check can rule out cheaply).
std::string valid_chunked_sequences_h5(const TempDir& dir) {
  const hsize_t dims[5] = {2, 1, 3, 8, 8};
  const hsize_t chunk[5] = {1, 1, 3, 8, 8};
  std::vector<float> data(2 * 3 * 8 * 8);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(i % 17) / 16.0f;
  const std::string path = dir.file("seed_chunked.h5");
  const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  const hid_t space = H5Screate_simple(5, dims, nullptr);
  const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(dcpl, 5, chunk);
  const hid_t dset = H5Dcreate2(file, "sequences", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  EXPECT_GE(H5Dwrite(dset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Sclose(space);
  H5Fclose(file);
  return read_file(path);
}

struct FuzzCounts {
  int accepted = 0, rejected = 0;
};

// Writes `iterations()` mutants (make_mutant(it) gives mutant `it`'s bytes)
// to fresh files and reads each with read_and_check: a mutant is either read
// and passes its checks, or refused with an error that names its file.
FuzzCounts fuzz_reader(const TempDir& dir, const std::string& extension,
                       const std::function<std::string(int)>& make_mutant,
                       const std::function<void(const std::string&)>& read_and_check) {
  FuzzCounts counts;
  for (int it = 0, n = iterations(); it < n; ++it) {
    // A fresh name each time: HDF5 keeps per-file state keyed on the open file.
    const std::string path = dir.file("mutant_" + std::to_string(it) + extension);
    write_file(path, make_mutant(it));
    try {
      read_and_check(path);
      if (::testing::Test::HasFatalFailure()) {  // an ASSERT in read_and_check: this mutant was read wrong
        ADD_FAILURE() << "mutant " << it << " (" << path << ") read but failed its checks";
        break;
      }
      ++counts.accepted;
    } catch (const std::exception& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      ++counts.rejected;
    }
    std::filesystem::remove(path);
  }
  EXPECT_GT(counts.rejected, 0) << "mutations were too gentle to test anything";
  ::testing::Test::RecordProperty("accepted", counts.accepted);
  std::cout << "[ fuzz ] " << counts.accepted << " mutants accepted, " << counts.rejected << " rejected\n";
  return counts;
}

TEST(FuzzReaders, Png) {
  TempDir dir;
  const std::string seed = valid_png(dir);
  ASSERT_NO_THROW(cdae::io::read_png_gray(dir.file("seed.png")));
  std::mt19937 rng(seed_or(20240611));
  fuzz_reader(
      dir, ".png",
      [&](int it) {
        const std::string mutant = mutate(seed, rng);
        return it % 2 == 0 ? mutant : repair_png_crcs(mutant);
      },
      [](const std::string& path) {
        const auto image = cdae::io::read_png_gray(path);
        ASSERT_GE(image.height, 1);
        ASSERT_GE(image.width, 1);
        ASSERT_LE(image.height, 16384);
        ASSERT_LE(image.width, 16384);
        ASSERT_EQ(image.pixels.size(), static_cast<std::size_t>(image.height) * image.width);
        for (float v : image.pixels) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
      });
}

TEST(FuzzReaders, Hdf5Sequences) {
  TempDir dir;
  const std::string seeds[2] = {valid_sequences_h5(dir), valid_chunked_sequences_h5(dir)};
  ASSERT_NO_THROW(cdae::io::read_sequences_h5(dir.file("seed.h5"), "sequences"));
  ASSERT_NO_THROW(cdae::io::read_sequences_h5(dir.file("seed_chunked.h5"), "sequences"));
  std::mt19937 rng(seed_or(1234567));
  const auto counts = fuzz_reader(
      dir, ".h5", [&](int it) { return mutate(seeds[it % 2], rng); },
      [](const std::string& path) {
        const auto seq = cdae::io::read_sequences_h5(path, "sequences");
        ASSERT_EQ(seq.shape.size(), 5u);
        std::size_t count = 1;
        for (std::int64_t d : seq.shape) {
          ASSERT_GE(d, 1);
          count *= static_cast<std::size_t>(d);
        }
        ASSERT_EQ(seq.values.size(), count);
        for (float v : seq.values) ASSERT_TRUE(std::isfinite(v));
      });
  EXPECT_GT(counts.accepted, 0) << "some mutants only touch unused bytes and must still load";
}

}  // namespace
