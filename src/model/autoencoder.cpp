#include "model/autoencoder.h"

#include "model/conv_transpose.h"
#include "model/counter_dropout.h"
#include "model/frame_conv.h"
#include "model/sequence_gemm_conv.h"

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

TemporalEncoderDecoderImpl::TemporalEncoderDecoderImpl(int input_channels, const std::array<int, 3>& hidden,
                                                       bool layer_norms) {
  if (layer_norms) norm_1 = register_module("norm_1", torch::nn::GroupNorm(1, input_channels));
  convlstm_1 = register_module("convlstm_1", ConvLSTM(input_channels, hidden[0]));
  if (layer_norms) norm_2 = register_module("norm_2", torch::nn::GroupNorm(1, hidden[0]));
  convlstm_2 = register_module("convlstm_2", ConvLSTM(hidden[0], hidden[1]));
  if (layer_norms) norm_3 = register_module("norm_3", torch::nn::GroupNorm(1, hidden[1]));
  convlstm_3 = register_module("convlstm_3", ConvLSTM(hidden[1], hidden[2]));
}

namespace {
// GroupNorm works on (N, C, ...): fold time into the batch, so each frame of
// each sample is normalised on its own.
torch::Tensor normalise_frames(torch::nn::GroupNorm& norm, const torch::Tensor& x) {
  if (!norm) return x;
  const auto s = x.sizes();
  return norm->forward(x.reshape({s[0] * s[1], s[2], s[3], s[4]})).reshape(s);
}
}  // namespace

std::pair<torch::Tensor, torch::Tensor> TemporalEncoderDecoderImpl::forward(const torch::Tensor& x) {
  const auto hidden = convlstm_1->forward(normalise_frames(norm_1, x));
  const auto latent = convlstm_2->forward(normalise_frames(norm_2, hidden));
  return {convlstm_3->forward(normalise_frames(norm_3, latent)), latent};
}

SpatioTemporalAutoencoderImpl::SpatioTemporalAutoencoderImpl(const Architecture& a) : architecture(a) {
  const auto& e = a.encoder;
  const auto& d = a.decoder;
  input_norm = InputBatchNorm(a.in_channels);
  // Layers are made one statement at a time, so the default initialisation
  // draws from the random generator in layer order (the order of arguments
  // to a constructor is unspecified in C++).
  // Indices 0..7 as in the reference's nn.Sequential: BN, conv, ReLU, dropout, conv, ReLU, conv, ReLU.
  // A ReLU that runs inside the layer before it (model/bias_relu.h: one pass
  // fewer over the activation each way) leaves an Identity at its index, so
  // that parameter names stay the reference's.
  torch::nn::Sequential encoder;
  encoder->push_back(input_norm);
  if ((a.frame_convs == "gemm" || a.frame_convs == "direct") && is_framewise(e[0])) {
    SequenceGemmConv conv1(a.in_channels, e[0], a.channels_last, a.frame_convs == "direct", /*relu=*/true);
    // The input norm's weight and bias are applied inside conv1, whose backward
    // then needs no input gradient (model/sequence_gemm_conv.h).
    input_norm->affine_in_next_layer = true;
    conv1->input_scale = input_norm->weight;
    conv1->input_shift = input_norm->bias;
    encoder->push_back(conv1);
    encoder->push_back(torch::nn::Identity());
  } else {
    if (a.frame_convs == "im2col" && is_framewise(e[0]))
      encoder->push_back(FrameConv3d(a.in_channels, e[0]));
    else if (a.frame_convs == "conv2d" && is_framewise(e[0]))
      encoder->push_back(FrameConv2d(a.in_channels, e[0]));
    else
      encoder->push_back(torch::nn::Conv3d(conv_options(a.in_channels, e[0])));
    // In place: no layer before it keeps its output for the backward pass, and
    // this one is the largest activation (1.2 GB at the seed's 54 sequences).
    encoder->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(true)));
  }
  encoder->push_back(CounterDropout(a.dropout));
  if (a.native_deconvs)
    encoder->push_back(torch::nn::Conv3d(conv_options(e[0].out_channels, e[1])));
  else  // its input gradient by the conv kernels' tiled layout copy (model/conv_transpose.h)
    encoder->push_back(Conv3dByConvKernels(e[0].out_channels, e[1]));
  encoder->push_back(torch::nn::ReLU());
  encoder->push_back(torch::nn::Conv3d(conv_options(e[1].out_channels, e[2])));
  encoder->push_back(torch::nn::ReLU());
  spatial_encoder = register_module("spatial_encoder", encoder);
  temporal_encoder_decoder = register_module("temporal_encoder_decoder",
                                             TemporalEncoderDecoder(e[2].out_channels, a.lstm_hidden,
                                                                    a.lstm_norm == "layer"));
  torch::nn::Sequential decoder;
  // A transposed conv and the ReLU after it: two layers, the second an Identity
  // where the ReLU runs inside the first.
  auto push_deconv_relu = [&](int in, const ConvSpec& spec, bool in_place) {
    if (a.native_deconvs) {
      decoder->push_back(torch::nn::ConvTranspose3d(deconv_options(in, spec)));
      decoder->push_back(torch::nn::ReLU(torch::nn::ReLUOptions().inplace(in_place)));
    } else {
      decoder->push_back(ConvTranspose3dByConvKernels(in, spec, a.channels_last, /*relu=*/true));
      decoder->push_back(torch::nn::Identity());
    }
  };
  push_deconv_relu(a.lstm_hidden[2], d[0], false);
  push_deconv_relu(d[0].out_channels, d[1], /*in_place=*/true);  // as the encoder's first
  if (a.frame_convs == "im2col" && is_framewise(d[2]))
    decoder->push_back(FrameConvTranspose3d(d[1].out_channels, d[2]));
  else if ((a.frame_convs == "gemm" || a.frame_convs == "direct") && is_framewise(d[2]))
    decoder->push_back(SequenceGemmConvTranspose(d[1].out_channels, d[2], a.frame_convs == "direct"));
  else if (a.native_deconvs)
    decoder->push_back(torch::nn::ConvTranspose3d(deconv_options(d[1].out_channels, d[2])));
  else
    decoder->push_back(ConvTranspose3dByConvKernels(d[1].out_channels, d[2], a.channels_last));
  if (a.output == "sigmoid")
    decoder->push_back(torch::nn::Sigmoid());
  else
    decoder->push_back(torch::nn::ReLU());
  spatial_decoder = register_module("spatial_decoder", decoder);
}

AutoencoderOutput SpatioTemporalAutoencoderImpl::forward(const torch::Tensor& x) {
  // (N, C, T, H, W) -> (N, T, C, H, W) for the ConvLSTMs, and back.
  const auto features = spatial_encoder->forward(x).permute({0, 2, 1, 3, 4});
  auto [temporal, latent] = temporal_encoder_decoder->forward(features);
  auto reconstruction = spatial_decoder->forward(temporal.permute({0, 2, 1, 3, 4}));
  return {reconstruction, latent.reshape({x.size(0), -1}), {}};
}

std::vector<std::int64_t> SpatioTemporalAutoencoderImpl::sample_shape() const {
  return {architecture.in_channels, architecture.seqlen, architecture.height, architecture.width};
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
