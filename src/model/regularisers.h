// Terms and input corruptions that any family can add to its training:
// the VAE's KL divergence to the standard normal prior, sparsity of the
// latent code (L1, or the KL penalty towards a target mean activation), and
// the denoising autoencoder's input noise.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

namespace cdae::model {

struct NoiseSettings {
  std::string kind = "none";  // none | gaussian | masking
  double level = 0.1;         // gaussian: standard deviation; masking: probability an element is zeroed
};
// The corrupted input (x itself for "none"). Draws from torch's generator,
// which the trainer seeds per (seed, epoch, rank).
torch::Tensor corrupt(const torch::Tensor& x, const NoiseSettings& noise);

// Per sample: -0.5 * sum(1 + log_variance - mean^2 - exp(log_variance)): (N).
torch::Tensor kl_to_standard_normal(const torch::Tensor& mean, const torch::Tensor& log_variance);

// Per sample: sum |code|: (N).
torch::Tensor l1_per_sample(const torch::Tensor& code);

// sum_j KL(rho || rho_hat_j) between Bernoulli means: the target `rho` and the
// mean activation rho_hat (clamped to [1e-6, 1 - 1e-6]); a scalar.
torch::Tensor sparsity_kl(const torch::Tensor& mean_activation, double target);

struct SparsitySettings {
  std::string kind = "none";  // none | l1 | kl
  double weight = 1e-3;
  double target = 0.05;  // kl: the target mean of sigmoid(code)
};

const std::vector<std::string>& noise_kind_names();
const std::vector<std::string>& sparsity_kind_names();

}  // namespace cdae::model
