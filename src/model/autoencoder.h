// The spatio-temporal autoencoder of the reference: a 3-D convolutional
// spatial encoder, three ConvLSTM layers over time (the second one's output is
// the latent), and a 3-D transposed-convolution decoder. Submodule names give
// the reference's PyTorch state_dict names, so weights move freely between
// cdae checkpoints and PyTorch.
#pragma once
#include <torch/torch.h>

#include "model/architecture.h"
#include "model/convlstm.h"
#include "model/input_batch_norm.h"

namespace cdae::model {

struct TemporalEncoderDecoderImpl : torch::nn::Module {
  // layer_norms: a GroupNorm(1, C) in front of each ConvLSTM ("norm_1".."norm_3";
  // not registered at all without them, so the reference's names are unchanged).
  TemporalEncoderDecoderImpl(int input_channels, const std::array<int, 3>& hidden, bool layer_norms);
  // x: (N, T, C, H, W). Returns (output of convlstm_3, latent = output of convlstm_2).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);
  ConvLSTM convlstm_1{nullptr}, convlstm_2{nullptr}, convlstm_3{nullptr};
  torch::nn::GroupNorm norm_1{nullptr}, norm_2{nullptr}, norm_3{nullptr};
};
TORCH_MODULE(TemporalEncoderDecoder);

struct AutoencoderOutput {
  torch::Tensor reconstruction;  // (N, C, T, H, W)
  torch::Tensor latent;          // (N, latent_size), flattened per sample
};

struct SpatioTemporalAutoencoderImpl : torch::nn::Module {
  explicit SpatioTemporalAutoencoderImpl(const Architecture& architecture);
  AutoencoderOutput forward(const torch::Tensor& x);  // x: (N, C, T, H, W)

  Architecture architecture;
  InputBatchNorm input_norm{nullptr};  // spatial_encoder.0
  torch::nn::Sequential spatial_encoder{nullptr};
  TemporalEncoderDecoder temporal_encoder_decoder{nullptr};
  torch::nn::Sequential spatial_decoder{nullptr};
};
TORCH_MODULE(SpatioTemporalAutoencoder);

// Parameters and buffers in PyTorch state_dict order, with their names.
std::vector<std::pair<std::string, torch::Tensor>> state_dict(torch::nn::Module& module);
std::int64_t parameter_count(torch::nn::Module& module);

}  // namespace cdae::model
