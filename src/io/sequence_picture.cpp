#include "io/sequence_picture.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "io/png.h"

namespace cdae::io {

void write_sequence_picture(const std::string& path, const std::vector<const float*>& columns, int frames,
                            int height, int width) {
  const int picture_width = static_cast<int>(columns.size()) * width;
  const int picture_height = frames * height;
  std::vector<std::uint8_t> pixels(static_cast<size_t>(picture_width) * picture_height);
  for (size_t k = 0; k < columns.size(); ++k)
    for (int t = 0; t < frames; ++t)
      for (int y = 0; y < height; ++y)
        for (int x = 0; x < width; ++x) {
          const float v = columns[k][(static_cast<size_t>(t) * height + y) * width + x] * 255.0f;
          const float clipped = std::isfinite(v) ? std::clamp(v, 0.0f, 255.0f) : 0.0f;
          pixels[static_cast<size_t>(t * height + y) * picture_width + k * width + x] =
              static_cast<std::uint8_t>(clipped);
        }
  write_png_gray(path, pixels, picture_height, picture_width);
}

}  // namespace cdae::io
