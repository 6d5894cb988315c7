#include "model/autoencoder.h"

namespace cdae::model {

namespace {

torch::nn::Conv3dOptions conv_options(int in, const ConvSpec& s) {
  return torch::nn::Conv3dOptions(in, s.out_channels, {s.kernel[0], s.kernel[1], s.kernel[2]})
      .stride({s.stride[0], s.stride[1], s.stride[2]});
}
torch::nn::ConvTranspose3dOptions deconv_options(int in, const ConvSpec& s) {
  return torch::nn::ConvTranspose3dOptions(in, s.out_channels, {s.kernel[0], s.kernel[1], s.kernel[2]})
      .stride({s.stride[0], s.stride[1], s.stride[2]});
}

}  // namespace

TemporalEncoderDecoderImpl::TemporalEncoderDecoderImpl(int input_channels, const std::array<int, 3>& hidden) {
  convlstm_1 = register_module("convlstm_1", ConvLSTM(input_channels, hidden[0]));
  convlstm_2 = register_module("convlstm_2", ConvLSTM(hidden[0], hidden[1]));
  convlstm_3 = register_module("convlstm_3", ConvLSTM(hidden[1], hidden[2]));
}

std::pair<torch::Tensor, torch::Tensor> TemporalEncoderDecoderImpl::forward(const torch::Tensor& x) {
  auto latent = convlstm_2->forward(convlstm_1->forward(x));
  return {convlstm_3->forward(latent), latent};
}

SpatioTemporalAutoencoderImpl::SpatioTemporalAutoencoderImpl(const Architecture& a) : architecture(a) {
  const auto& e = a.encoder;
  input_norm = InputBatchNorm(a.in_channels);
  // Indices 0..7 as in the reference's nn.Sequential: BN, conv, ReLU, dropout, conv, ReLU, conv, ReLU.
  spatial_encoder = register_module(
      "spatial_encoder",
      torch::nn::Sequential(input_norm, torch::nn::Conv3d(conv_options(a.in_channels, e[0])), torch::nn::ReLU(),
                            torch::nn::Dropout(a.dropout), torch::nn::Conv3d(conv_options(e[0].out_channels, e[1])),
                            torch::nn::ReLU(), torch::nn::Conv3d(conv_options(e[1].out_channels, e[2])),
                            torch::nn::ReLU()));
  temporal_encoder_decoder = register_module("temporal_encoder_decoder",
                                             TemporalEncoderDecoder(e[2].out_channels, a.lstm_hidden));
  const auto& d = a.decoder;
  spatial_decoder = register_module(
      "spatial_decoder",
      torch::nn::Sequential(torch::nn::ConvTranspose3d(deconv_options(a.lstm_hidden[2], d[0])), torch::nn::ReLU(),
                            torch::nn::ConvTranspose3d(deconv_options(d[0].out_channels, d[1])), torch::nn::ReLU(),
                            torch::nn::ConvTranspose3d(deconv_options(d[1].out_channels, d[2])),
                            torch::nn::ReLU()));
}

AutoencoderOutput SpatioTemporalAutoencoderImpl::forward(const torch::Tensor& x) {
  // (N, C, T, H, W) -> (N, T, C, H, W) for the ConvLSTMs, and back.
  const auto features = spatial_encoder->forward(x).permute({0, 2, 1, 3, 4});
  auto [temporal, latent] = temporal_encoder_decoder->forward(features);
  auto reconstruction = spatial_decoder->forward(temporal.permute({0, 2, 1, 3, 4}));
  return {reconstruction, latent.reshape({x.size(0), -1})};
}

std::vector<std::pair<std::string, torch::Tensor>> state_dict(torch::nn::Module& module) {
  // named_parameters/named_buffers each keep registration order; PyTorch's
  // state_dict interleaves them per module, which matters only for readability,
  // so parameters then buffers of each submodule are emitted in module order.
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false)) out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  }
  return out;
}

std::int64_t parameter_count(torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace cdae::model
