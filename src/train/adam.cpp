#include "train/adam.h"

#include <cmath>

namespace cdae::train {

Adam::Adam(std::vector<torch::Tensor> params, AdamOptions opts) : options(opts), parameters(std::move(params)) {
  for (const auto& p : parameters) {
    exp_avg.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve).detach());
    exp_avg_sq.push_back(torch::zeros_like(p, torch::MemoryFormat::Preserve).detach());
  }
}

void Adam::step() {
  // The same arithmetic as torch.optim.Adam, written with the multi-tensor
  // (_foreach_) kernels: a handful of launches for all parameters on a GPU
  // instead of several per parameter (PyTorch's foreach=True Adam).
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> params, grads, m, v;
  for (size_t i = 0; i < parameters.size(); ++i) {
    if (!parameters[i].grad().defined()) continue;
    params.push_back(parameters[i]);
    grads.push_back(parameters[i].grad());
    m.push_back(exp_avg[i]);
    v.push_back(exp_avg_sq[i]);
  }
  if (params.empty()) return;
  ++steps;
  const double bias_correction1 = 1.0 - std::pow(options.beta1, static_cast<double>(steps));
  const double bias_correction2 = 1.0 - std::pow(options.beta2, static_cast<double>(steps));
  const double step_size = options.lr / bias_correction1;
  if (options.weight_decay != 0) grads = at::_foreach_add(grads, params, options.weight_decay);
  at::_foreach_mul_(m, options.beta1);
  at::_foreach_add_(m, grads, 1.0 - options.beta1);
  at::_foreach_mul_(v, options.beta2);
  at::_foreach_addcmul_(v, grads, grads, 1.0 - options.beta2);
  auto denom = at::_foreach_sqrt(v);
  at::_foreach_div_(denom, std::sqrt(bias_correction2));
  at::_foreach_add_(denom, options.eps);
  at::_foreach_addcdiv_(params, m, denom, -step_size);
}

}  // namespace cdae::train
