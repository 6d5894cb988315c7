#include "data/sequence_tensor.h"

namespace cdae::data {

torch::Tensor sequences_to_tensor(const io::SequenceArray& sequences) {
  const auto& s = sequences.shape;
  return torch::from_blob(const_cast<float*>(sequences.values.data()), {s[0], s[1], s[2], s[3], s[4]},
                          torch::kFloat32)
      .clone();
}

}  // namespace cdae::data
