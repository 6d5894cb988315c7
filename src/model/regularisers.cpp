#include "model/regularisers.h"

#include <stdexcept>

namespace cdae::model {

torch::Tensor corrupt(const torch::Tensor& x, const NoiseSettings& noise) {
  if (noise.kind == "none") return x;
  if (noise.kind == "gaussian") return x + noise.level * torch::randn_like(x);
  if (noise.kind == "masking") return x * (torch::rand_like(x) >= noise.level).to(x.scalar_type());
  throw std::invalid_argument("noise kind '" + noise.kind + "' (accepted: none, gaussian, masking)");
}

torch::Tensor kl_to_standard_normal(const torch::Tensor& mean, const torch::Tensor& log_variance) {
  return -0.5 * (1 + log_variance - mean.square() - log_variance.exp()).sum(1);
}

torch::Tensor l1_per_sample(const torch::Tensor& code) { return code.abs().flatten(1).sum(1); }

torch::Tensor sparsity_kl(const torch::Tensor& mean_activation, double target) {
  const auto rho_hat = mean_activation.clamp(1e-6, 1 - 1e-6);
  const double rho = target;
  return (rho * (rho / rho_hat).log() + (1 - rho) * ((1 - rho) / (1 - rho_hat)).log()).sum();
}

const std::vector<std::string>& noise_kind_names() {
  static const std::vector<std::string> names{"none", "gaussian", "masking"};
  return names;
}

const std::vector<std::string>& sparsity_kind_names() {
  static const std::vector<std::string> names{"none", "l1", "kl"};
  return names;
}

}  // namespace cdae::model
