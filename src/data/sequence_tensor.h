// Bridges between torch-free data (pictures, stored sequences) and tensors.
#pragma once
#include <string>

#include <torch/torch.h>

#include "io/hdf5_file.h"
#include "io/png.h"

namespace cdae::data {

// The picture that is rotated: the PNG at `png_path`, or the built-in coin
// when the path is empty. Throws naming the key data.image if the PNG's size
// is not height x width.
io::GrayImage source_image(const std::string& png_path, int height, int width);

// (N, C, T, H, W) float32 CPU tensor owning a copy of the values.
torch::Tensor sequences_to_tensor(const io::SequenceArray& sequences);

}  // namespace cdae::data
