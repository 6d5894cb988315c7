// What the training step, the checkpoints and inference need from any
// autoencoder family: a forward pass giving the reconstruction and the latent
// that the contrastive term and the latent score act on, and a description of
// the parameters' shapes for checkpoints. Each family (spatio-temporal, dense,
// convolutional; the VAE is a dense or convolutional one with a
// log-variance) implements it; the loss terms are built from its output by
// train/train_step.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace cdae::model {

struct AutoencoderOutput {
  torch::Tensor reconstruction;  // the input's shape
  torch::Tensor latent;          // (N, D): the code; the VAE's mean
  torch::Tensor log_variance;    // (N, D): the VAE's; undefined for the other families
};

struct Autoencoder : torch::nn::Module {
  // A VAE samples its code (reparameterisation) in training mode and decodes
  // the mean in eval mode.
  virtual AutoencoderOutput forward(const torch::Tensor& x) = 0;
  // One input sample's shape: (D), (C, H, W) or (C, T, H, W).
  virtual std::vector<std::int64_t> sample_shape() const = 0;
  virtual std::int64_t latent_size() const = 0;
  // What fixes the parameters' names and shapes, as JSON (stored in
  // checkpoints; a checkpoint with another description is refused).
  virtual nlohmann::json describe() const = 0;
  // Multiply-accumulates of one sample's forward pass (for FLOP/s figures).
  virtual double forward_macs_per_sample() const = 0;
};

// Parameters and buffers in PyTorch state_dict order, with their names.
std::vector<std::pair<std::string, torch::Tensor>> state_dict(torch::nn::Module& module);
std::int64_t parameter_count(torch::nn::Module& module);

}  // namespace cdae::model
