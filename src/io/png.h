// PNG reading and writing through libpng's simplified API. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::io {

// A single-channel picture, row-major, values in [0, 1].
struct GrayImage {
  int height = 0;
  int width = 0;
  std::vector<float> pixels;
};

// Reads any PNG (gray, RGB, palette, 8/16 bit, alpha) as gray in [0, 1].
// Throws std::runtime_error naming the file and the reason.
GrayImage read_png_gray(const std::string& path);

// Writes 8-bit gray pixels (row-major, height*width). Throws on failure.
void write_png_gray(const std::string& path, const std::vector<std::uint8_t>& pixels,
                    int height, int width);

}  // namespace cdae::io
