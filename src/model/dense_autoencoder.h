// Dense autoencoders for vectors and flattened images: the "simple" one (one
// hidden layer) and the "deep" one (layer sizes as a list), optionally a VAE
// (heads for the mean and log-variance of the code, reparameterised sampling).
#pragma once
#include <string>
#include <vector>

#include "model/autoencoder_model.h"

namespace cdae::model {

struct DenseOptions {
  std::vector<std::int64_t> sample_shape;  // any shape; flattened to D
  std::vector<int> hidden{256};            // widths, input side first
  int latent = 32;
  bool variational = false;
  std::string output = "sigmoid";  // sigmoid | linear | relu
};

// Encoder: Linear + LeakyReLU(0.1) per hidden width, then Linear to the code
// ("to_mean", and "to_log_variance" for a VAE); the decoder mirrors it and
// ends in the output activation.
struct DenseAutoencoderImpl : Autoencoder {
  explicit DenseAutoencoderImpl(const DenseOptions& options);
  AutoencoderOutput forward(const torch::Tensor& x) override;
  std::vector<std::int64_t> sample_shape() const override { return options.sample_shape; }
  std::int64_t latent_size() const override { return options.latent; }
  nlohmann::json describe() const override;
  double forward_macs_per_sample() const override;

  DenseOptions options;
  torch::nn::Sequential encoder{nullptr}, decoder{nullptr};
  torch::nn::Linear to_mean{nullptr}, to_log_variance{nullptr};
};
TORCH_MODULE(DenseAutoencoder);

// The output activation named by `output` (sigmoid | linear | relu).
torch::nn::AnyModule output_activation(const std::string& output);
// mean + exp(log_variance / 2) * eps in training mode, mean in eval mode.
torch::Tensor sample_code(const torch::Tensor& mean, const torch::Tensor& log_variance, bool training);
// The code heads of both families: sets out.latent (and out.log_variance when
// `to_log_variance` exists, a VAE) and returns the code to decode.
torch::Tensor encode(const torch::Tensor& features, torch::nn::Linear& to_mean, torch::nn::Linear& to_log_variance,
                     bool training, AutoencoderOutput& out);

}  // namespace cdae::model
