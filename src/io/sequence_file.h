// Reading sequences that a user stored in an HDF5 file (cdae-infer --input):
// one dataset of shape (N, C, T, H, W) or (N, T, H, W), checked to be complete
// and finite before it is used. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::io {

// Sequences stored by a user: a dataset of shape (N,C,T,H,W) or (N,T,H,W)
// (then C = 1), uint8 (divided by 255) or float32/float64. Returned as
// float32 (N,C,T,H,W). Errors name the file, the dataset and what is wrong.
struct SequenceArray {
  std::vector<std::int64_t> shape;  // always 5 entries: N, C, T, H, W
  std::vector<float> values;
};
SequenceArray read_sequences_h5(const std::string& path, const std::string& dataset);

}  // namespace cdae::io
