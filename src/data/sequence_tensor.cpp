#include "data/sequence_tensor.h"

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

torch::Tensor sequences_to_tensor(const io::SequenceArray& sequences) {
  const auto& s = sequences.shape;
  return torch::from_blob(const_cast<float*>(sequences.values.data()), {s[0], s[1], s[2], s[3], s[4]},
                          torch::kFloat32)
      .clone();
}

}  // namespace cdae::data
