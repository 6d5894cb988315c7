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
  torch::NoGradGuard no_grad;
  ++steps;
  const double bias_correction1 = 1.0 - std::pow(options.beta1, static_cast<double>(steps));
  const double bias_correction2 = 1.0 - std::pow(options.beta2, static_cast<double>(steps));
  const double step_size = options.lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  for (size_t i = 0; i < parameters.size(); ++i) {
    auto& p = parameters[i];
    auto grad = p.grad();
    if (!grad.defined()) continue;
    if (options.weight_decay != 0) grad = grad.add(p, options.weight_decay);
    exp_avg[i].mul_(options.beta1).add_(grad, 1.0 - options.beta1);
    exp_avg_sq[i].mul_(options.beta2).addcmul_(grad, grad, 1.0 - options.beta2);
    const auto denom = (exp_avg_sq[i].sqrt() / bias_correction2_sqrt).add_(options.eps);
    p.addcdiv_(exp_avg[i], denom, -step_size);
  }
}

}  // namespace cdae::train
