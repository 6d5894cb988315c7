// The recovery terms of every family, per sample and channel: squared error
// (mse, max), binary cross-entropy, smooth L1 and focal loss. The training
// step turns these sums into the batch loss (model/losses.h's recovery_mse /
// recovery_max), inference into per-sample scores.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

namespace cdae::model {

struct RecoveryLoss {
  std::string kind = "mse";  // mse | max | bce | smooth_l1 | focal
  double focal_gamma = 2.0;
  double focal_alpha = 0.25;
};

// (N, C): for each sample and channel, the sum over every other dimension of
// the per-element loss. Input (N, D) counts as one channel. bce and focal
// clamp the reconstruction to [1e-7, 1 - 1e-7] and expect targets in [0, 1].
torch::Tensor recovery_element_sums(const torch::Tensor& reconstruction, const torch::Tensor& target,
                                    const RecoveryLoss& loss);

const std::vector<std::string>& recovery_loss_names();
// bce and focal compare probabilities: the model must end in a sigmoid.
bool needs_unit_interval(const std::string& kind);

}  // namespace cdae::model
