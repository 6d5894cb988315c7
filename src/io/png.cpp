#include "io/png.h"

#include <png.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace cdae::io {
namespace {

// Larger sides are almost certainly a corrupt header, and would make us
// allocate gigabytes before libpng notices the data is missing.
constexpr png_uint_32 kMaxSide = 16384;

// png_image owns libpng state between begin_read and finish_read; freeing it
// on every exit path is what makes the early throws below leak-free.
class ImageGuard {
 public:
  ImageGuard() {
    image_.version = PNG_IMAGE_VERSION;
  }
  ~ImageGuard() { png_image_free(&image_); }
  ImageGuard(const ImageGuard&) = delete;
  ImageGuard& operator=(const ImageGuard&) = delete;
  png_image& get() { return image_; }

 private:
  png_image image_{};
};

[[noreturn]] void fail_read(const std::string& path, const std::string& reason) {
  throw std::runtime_error("cannot read PNG '" + path + "': " + reason);
}

std::string libpng_message(const png_image& image, const char* fallback) {
  return image.message[0] != '\0' ? std::string(image.message) : std::string(fallback);
}

// libpng reports a short or foreign file as "Read Error" or "Not a PNG
// file"; checking the signature first gives the user a better reason.
void check_signature(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) fail_read(path, std::strerror(errno));
  png_byte signature[8] = {};
  const std::size_t got = std::fread(signature, 1, sizeof signature, file);
  std::fclose(file);
  if (got < sizeof signature) fail_read(path, "file too short to be a PNG (" + std::to_string(got) + " bytes)");
  if (png_sig_cmp(signature, 0, sizeof signature) != 0) fail_read(path, "not a PNG file (bad signature)");
}

}  // namespace

GrayImage read_png_gray(const std::string& path) {
  check_signature(path);
  ImageGuard guard;
  png_image& image = guard.get();
  if (png_image_begin_read_from_file(&image, path.c_str()) == 0) {
    fail_read(path, libpng_message(image, "not a PNG file"));
  }
  if (image.width == 0 || image.height == 0) {
    fail_read(path, "image is empty (0 pixels)");
  }
  if (image.width > kMaxSide || image.height > kMaxSide) {
    fail_read(path, "image size " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                        " exceeds the limit of " + std::to_string(kMaxSide) + " pixels per side");
  }
  image.format = PNG_FORMAT_GRAY;
  std::vector<png_byte> buffer(PNG_IMAGE_SIZE(image), 0);
  // Transparent pixels become black, the same as the background of the
  // pictures cdae draws itself.
  const png_color black{0, 0, 0};
  if (png_image_finish_read(&image, &black, buffer.data(), 0, nullptr) == 0) {
    fail_read(path, libpng_message(image, "corrupt image data"));
  }

  GrayImage out;
  out.height = static_cast<int>(image.height);
  out.width = static_cast<int>(image.width);
  out.pixels.resize(buffer.size());
  for (std::size_t i = 0; i < buffer.size(); ++i) out.pixels[i] = buffer[i] / 255.0f;
  return out;
}

void write_png_gray(const std::string& path, const std::vector<std::uint8_t>& pixels, int height,
                    int width) {
  auto fail = [&](const std::string& reason) {
    throw std::runtime_error("cannot write PNG '" + path + "': " + reason);
  };
  if (height <= 0 || width <= 0 || height > static_cast<int>(kMaxSide) ||
      width > static_cast<int>(kMaxSide)) {
    fail("invalid size " + std::to_string(height) + "x" + std::to_string(width));
  }
  if (pixels.size() != static_cast<std::size_t>(height) * static_cast<std::size_t>(width)) {
    fail("expected " + std::to_string(static_cast<long long>(height) * width) + " pixels, got " +
         std::to_string(pixels.size()));
  }
  ImageGuard guard;
  png_image& image = guard.get();
  image.width = static_cast<png_uint_32>(width);
  image.height = static_cast<png_uint_32>(height);
  image.format = PNG_FORMAT_GRAY;
  if (png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), 0, nullptr) == 0) {
    fail(libpng_message(image, "libpng failed"));
  }
}

}  // namespace cdae::io
