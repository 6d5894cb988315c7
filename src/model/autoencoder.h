// The spatio-temporal autoencoder of the reference: a 3-D convolutional
// spatial encoder, three ConvLSTM layers over time (the second one's output is
// the latent), and a 3-D transposed-convolution decoder. Submodule names give
// the reference's PyTorch state_dict names, so weights move freely between
// cdae checkpoints and PyTorch.
#pragma once
#include <torch/torch.h>

#include "model/architecture.h"
#include "model/autoencoder_model.h"
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

struct SpatioTemporalAutoencoderImpl : Autoencoder {
  explicit SpatioTemporalAutoencoderImpl(const Architecture& architecture);
  // x: (N, C, T, H, W); the latent is convlstm_2's output flattened per sample.
  AutoencoderOutput forward(const torch::Tensor& x) override;
  std::vector<std::int64_t> sample_shape() const override;
  std::int64_t latent_size() const override { return architecture.latent_size(); }
  // The Architecture's JSON form, as checkpoints have always stored it.
  nlohmann::json describe() const override { return architecture.to_json(); }
  double forward_macs_per_sample() const override { return architecture.forward_macs_per_sample(); }

  Architecture architecture;
  InputBatchNorm input_norm{nullptr};  // spatial_encoder.0
  torch::nn::Sequential spatial_encoder{nullptr};
  TemporalEncoderDecoder temporal_encoder_decoder{nullptr};
  torch::nn::Sequential spatial_decoder{nullptr};
};
TORCH_MODULE(SpatioTemporalAutoencoder);


}  // namespace cdae::model
