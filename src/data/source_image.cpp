#include "data/source_image.h"

#include <stdexcept>

#include "data/coin_image.h"

namespace cdae::data {

io::GrayImage source_image(const std::string& png_path, int height, int width) {
  if (png_path.empty()) return draw_coin(height, width);
  auto image = io::read_png_gray(png_path);
  if (image.height != height || image.width != width)
    throw std::runtime_error("data.image '" + png_path + "' is " + std::to_string(image.height) + "x" +
                             std::to_string(image.width) + " pixels, but the config's height x width is " +
                             std::to_string(height) + "x" + std::to_string(width));
  return image;
}

}  // namespace cdae::data
