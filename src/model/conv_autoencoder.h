// A convolutional autoencoder for images (C, H, W): conv + pooling stages
// down to a dense code, transposed convolutions back up to exactly the
// input's size; optionally a VAE (the code's mean and log-variance).
#pragma once
#include <string>
#include <vector>

#include "model/autoencoder_model.h"

namespace cdae::model {

struct ConvOptions {
  std::vector<std::int64_t> sample_shape;  // (C, H, W)
  std::vector<int> channels{16, 32};       // per conv + pool stage
  int latent = 32;
  bool variational = false;
  std::string output = "sigmoid";  // sigmoid | linear | relu
};

// Encoder ("encoder"): per stage Conv2d(k 5, pad 2) + LeakyReLU(0.1) +
// MaxPool2d(2); flatten; Linear to the code ("to_mean", "to_log_variance").
// Decoder: Linear ("from_code") + LeakyReLU to the last stage's maps, then
// per stage ConvTranspose2d(k 4, stride 2, pad 1) whose output padding
// restores each pooled size exactly (odd sizes too), LeakyReLU between, the
// output activation last ("decoder").
struct ConvAutoencoderImpl : Autoencoder {
  // Throws std::invalid_argument for a shape that is not (C, H, W) or that
  // the stages would pool below one pixel.
  explicit ConvAutoencoderImpl(const ConvOptions& options);
  AutoencoderOutput forward(const torch::Tensor& x) override;
  std::vector<std::int64_t> sample_shape() const override { return options.sample_shape; }
  std::int64_t latent_size() const override { return options.latent; }
  nlohmann::json describe() const override;
  double forward_macs_per_sample() const override;

  ConvOptions options;
  std::vector<std::pair<std::int64_t, std::int64_t>> sizes;  // (H, W) at the input and after each stage
  torch::nn::Sequential encoder{nullptr}, decoder{nullptr};
  torch::nn::Linear to_mean{nullptr}, to_log_variance{nullptr}, from_code{nullptr};
};
TORCH_MODULE(ConvAutoencoder);

}  // namespace cdae::model
