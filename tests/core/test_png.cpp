#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/png.h"
#include "../support/temp_dir.h"

namespace {

using cdae::io::read_png_gray;
using cdae::io::write_png_gray;
using cdae::testing::TempDir;

using cdae::testing::expect_error;

std::vector<std::uint8_t> gradient(int height, int width) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(height * width));
  for (int i = 0; i < height; ++i)
    for (int j = 0; j < width; ++j) pixels[static_cast<std::size_t>(i * width + j)] = static_cast<std::uint8_t>((i * 37 + j * 11) % 256);
  return pixels;
}

void write_rgb_png(const std::string& path, const std::vector<std::uint8_t>& rgb, int height, int width) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_RGB;
  ASSERT_NE(png_image_write_to_file(&image, path.c_str(), 0, rgb.data(), 0, nullptr), 0) << image.message;
}

void append_chunk(std::string& out, const char* type, const std::string& data) {
  auto put32 = [&out](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xFF));
  };
  put32(static_cast<std::uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  put32(static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

// A structurally valid PNG header claiming the given size, followed by a
// token IDAT: enough for libpng to report the size without decoding pixels.
std::string png_claiming_size(std::uint32_t width, std::uint32_t height) {
  std::string out("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  for (std::uint32_t v : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) ihdr.push_back(static_cast<char>((v >> shift) & 0xFF));
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit gray, no interlace
  append_chunk(out, "IHDR", ihdr);
  append_chunk(out, "IDAT", std::string("\x78\x9c\x03\x00\x00\x00\x00\x01", 8));
  append_chunk(out, "IEND", "");
  return out;
}

TEST(Png, GrayRoundTripIsExact) {
  TempDir dir;
  const std::string path = dir.file("gray.png");
  const auto pixels = gradient(13, 29);
  write_png_gray(path, pixels, 13, 29);
  const auto image = read_png_gray(path);
  ASSERT_EQ(image.height, 13);
  ASSERT_EQ(image.width, 29);
  ASSERT_EQ(image.pixels.size(), pixels.size());
  for (std::size_t i = 0; i < pixels.size(); ++i) {
    ASSERT_FLOAT_EQ(image.pixels[i], pixels[i] / 255.0f) << "pixel " << i;
  }
}

TEST(Png, RgbIsConvertedToGray) {
  TempDir dir;
  const std::string path = dir.file("rgb.png");
  // One row: black, white, mid gray, pure red, pure green.
  const std::vector<std::uint8_t> rgb = {0, 0, 0, 255, 255, 255, 100, 100, 100, 255, 0, 0, 0, 255, 0};
  write_rgb_png(path, rgb, 1, 5);
  const auto image = read_png_gray(path);
  ASSERT_EQ(image.height, 1);
  ASSERT_EQ(image.width, 5);
  ASSERT_EQ(image.pixels.size(), 5u);
  EXPECT_NEAR(image.pixels[0], 0.0f, 1e-6);
  EXPECT_NEAR(image.pixels[1], 1.0f, 1e-6);
  EXPECT_NEAR(image.pixels[2], 100.0f / 255.0f, 1.5f / 255.0f);
  // Luminance weights: green counts far more than red, and neither is white or black.
  EXPECT_GT(image.pixels[3], 0.2f);
  EXPECT_LT(image.pixels[3], 0.8f);
  EXPECT_GT(image.pixels[4], image.pixels[3] + 0.2f);
}

TEST(Png, MissingFileNamesThePath) {
  TempDir dir;
  const std::string path = dir.file("does_not_exist.png");
  expect_error([&] { read_png_gray(path); }, {"cannot read PNG", path});
}

TEST(Png, NonPngFileIsRejected) {
  TempDir dir;
  const std::string path = dir.file("text.png");
  cdae::testing::write_file(path, "this is not a picture, just some text that is long enough\n");
  expect_error([&] { read_png_gray(path); }, {"cannot read PNG", path});
}

TEST(Png, EmptyFileIsRejected) {
  TempDir dir;
  const std::string path = dir.file("empty.png");
  cdae::testing::write_file(path, "");
  expect_error([&] { read_png_gray(path); }, {path});
}

TEST(Png, TruncatedPngIsRejected) {
  TempDir dir;
  const std::string good = dir.file("good.png");
  write_png_gray(good, gradient(64, 64), 64, 64);
  const std::string bytes = cdae::testing::read_file(good);
  ASSERT_GT(bytes.size(), 100u);
  for (std::size_t keep : {bytes.size() / 2, bytes.size() - 13, std::size_t{40}, std::size_t{8}}) {
    const std::string path = dir.file("cut_" + std::to_string(keep) + ".png");
    cdae::testing::write_file(path, bytes.substr(0, keep));
    expect_error([&] { read_png_gray(path); }, {"cannot read PNG", path});
  }
}

TEST(Png, AbsurdSizeIsRejectedBeforeDecoding) {
  TempDir dir;
  const std::string path = dir.file("huge.png");
  cdae::testing::write_file(path, png_claiming_size(20000, 20));
  expect_error([&] { read_png_gray(path); }, {path, "20000x20", "16384"});
}

TEST(Png, WriteChecksArguments) {
  TempDir dir;
  const std::string path = dir.file("bad.png");
  expect_error([&] { write_png_gray(path, std::vector<std::uint8_t>(10), 3, 4); }, {path, "expected 12 pixels"});
  expect_error([&] { write_png_gray(path, {}, 0, 0); }, {path, "invalid size"});
  expect_error([&] { write_png_gray(dir.file("no_such_dir/x.png"), gradient(2, 2), 2, 2); },
               {"cannot write PNG", "no_such_dir"});
}

TEST(Png, TransparentPixelsBecomeBlack) {
  TempDir dir;
  const std::string path = dir.file("ga.png");
  // Gray+alpha: opaque white, fully transparent white, half-transparent white.
  const std::vector<std::uint8_t> ga = {255, 255, 255, 0, 255, 128};
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = 3;
  image.height = 1;
  image.format = PNG_FORMAT_GA;
  ASSERT_NE(png_image_write_to_file(&image, path.c_str(), 0, ga.data(), 0, nullptr), 0) << image.message;
  const auto gray = read_png_gray(path);
  ASSERT_EQ(gray.pixels.size(), 3u);
  EXPECT_NEAR(gray.pixels[0], 1.0f, 1e-6);
  EXPECT_NEAR(gray.pixels[1], 0.0f, 1e-6);
  EXPECT_GT(gray.pixels[2], 0.2f);
  EXPECT_LT(gray.pixels[2], 0.9f);
}

}  // namespace
