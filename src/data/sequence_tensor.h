// Stored sequences (io/sequence_file.h) as a tensor.
#pragma once
#include <string>

#include <torch/torch.h>

#include "io/sequence_file.h"

namespace cdae::data {

// (N, C, T, H, W) float32 CPU tensor owning a copy of the values.
torch::Tensor sequences_to_tensor(const io::SequenceArray& sequences);

}  // namespace cdae::data
