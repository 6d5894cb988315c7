#include "model/input_batch_norm.h"

namespace cdae::model {

InputBatchNormImpl::InputBatchNormImpl(int channels, double momentum_, double eps_)
    : momentum(momentum_), eps(eps_) {
  weight = register_parameter("weight", torch::ones({channels}));
  bias = register_parameter("bias", torch::zeros({channels}));
  running_mean = register_buffer("running_mean", torch::zeros({channels}));
  running_var = register_buffer("running_var", torch::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
}

torch::Tensor InputBatchNormImpl::forward(const torch::Tensor& x) {
  const auto channels = x.size(1);
  const auto shape = std::vector<int64_t>{1, channels, 1, 1, 1};
  if (!is_training()) {
    if (affine_in_next_layer) return (x - running_mean.view(shape)) * torch::rsqrt(running_var + eps).view(shape);
    const auto scale = weight * torch::rsqrt(running_var + eps);
    return (x - running_mean.view(shape)) * scale.view(shape) + bias.view(shape);
  }
  const std::vector<int64_t> dims{0, 2, 3, 4};
  auto reduce = [&](const torch::Tensor& t) { return reducer ? reducer(t) : t; };

  // Two passes (mean, then centred squares) in double: stable, and the count
  // of a large global batch is exact.
  const double local_count = static_cast<double>(x.numel() / channels);
  auto packed = torch::cat({x.sum(dims).to(torch::kDouble),
                            torch::full({1}, local_count, x.options().dtype(torch::kDouble))});
  packed = reduce(packed);
  const auto count = packed[channels];
  const auto mean = (packed.narrow(0, 0, channels) / count).to(x.scalar_type());
  const auto centred = x - mean.view(shape);
  const auto var = (reduce(centred.square().sum(dims).to(torch::kDouble)) / count).to(x.scalar_type());

  {
    torch::NoGradGuard no_grad;
    // Tensor arithmetic rather than count.item(): no host synchronisation.
    const auto unbiased = var.detach() * (count / (count - 1).clamp_min(1)).to(x.scalar_type());
    running_mean.mul_(1 - momentum).add_(mean.detach(), momentum);
    running_var.mul_(1 - momentum).add_(unbiased, momentum);
    num_batches_tracked.add_(1);
  }
  if (affine_in_next_layer) return centred * torch::rsqrt(var + eps).view(shape);
  const auto scale = weight * torch::rsqrt(var + eps);
  return centred * scale.view(shape) + bias.view(shape);
}

}  // namespace cdae::model
