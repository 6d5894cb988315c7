// The picture the rotation sequences turn: a user's PNG (data.image) or the
// built-in coin. Torch-free.
#pragma once
#include <string>

#include "io/png.h"

namespace cdae::data {

// The PNG at `png_path`, or the built-in coin when the path is empty. Throws
// naming the key data.image if the PNG's size is not height x width.
io::GrayImage source_image(const std::string& png_path, int height, int width);

}  // namespace cdae::data
