// BatchNorm3d whose batch statistics can span several processes.
//
// The model knows nothing about MPI: it is handed a `StatsReducer`, a
// differentiable global sum (identity in a single process). The statistics are
// then those of the global batch, and the running statistics stay identical on
// every rank. Parameter and buffer names match torch.nn.BatchNorm3d.
#pragma once
#include <functional>

#include <torch/torch.h>

namespace cdae::model {

using StatsReducer = std::function<torch::Tensor(const torch::Tensor&)>;

struct InputBatchNormImpl : torch::nn::Module {
  explicit InputBatchNormImpl(int channels, double momentum = 0.1, double eps = 1e-5);
  torch::Tensor forward(const torch::Tensor& x);  // x: (N, C, T, H, W)

  StatsReducer reducer;  // empty = this process's batch is the whole batch
  // When set, forward returns the normalised input without weight and bias,
  // and the next layer applies them (SequenceGemmConvImpl::input_scale): its
  // backward gives their gradients without an input gradient.
  bool affine_in_next_layer = false;
  double momentum, eps;
  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;
};
TORCH_MODULE(InputBatchNorm);

}  // namespace cdae::model
