// Adam exactly as torch.optim.Adam (non-amsgrad, weight decay added to the
// gradient, not AdamW), with its state in plain tensors so that checkpoints
// can store and restore it under the parameters' names.
#pragma once
#include <vector>

#include <torch/torch.h>

namespace cdae::train {

struct AdamOptions {
  double lr = 5e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-8;
};

class Adam {
 public:
  Adam(std::vector<torch::Tensor> parameters, AdamOptions options);
  void step();  // reads each parameter's .grad

  AdamOptions options;
  std::int64_t steps = 0;  // the same for every parameter
  std::vector<torch::Tensor> parameters;
  std::vector<torch::Tensor> exp_avg;
  std::vector<torch::Tensor> exp_avg_sq;
};

}  // namespace cdae::train
