#include "model/frame_conv.h"

namespace cdae::model {

namespace F = torch::nn::functional;

namespace {

// (N, C, T, H, W) -> (N*T, C, H, W) and back.
torch::Tensor frames_of(const torch::Tensor& x) {
  return x.permute({0, 2, 1, 3, 4}).reshape({x.size(0) * x.size(2), x.size(1), x.size(3), x.size(4)});
}
torch::Tensor sequences_of(const torch::Tensor& frames, std::int64_t n, std::int64_t t) {
  return frames.view({n, t, frames.size(1), frames.size(2), frames.size(3)}).permute({0, 2, 1, 3, 4});
}

// The plain layer that the faster forms take their parameters from, so a
// seed gives the same weights whichever form runs.
torch::nn::Conv3d plain_frame_conv3d(int in_channels, const ConvSpec& s) {
  return torch::nn::Conv3d(torch::nn::Conv3dOptions(in_channels, s.out_channels, {1, s.kernel[1], s.kernel[2]})
                               .stride({1, s.stride[1], s.stride[2]}));
}

}  // namespace

FrameConv3dImpl::FrameConv3dImpl(int in_channels, const ConvSpec& s) : spec(s) {
  const auto plain = plain_frame_conv3d(in_channels, s);
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor FrameConv3dImpl::forward(const torch::Tensor& x) {
  const auto n = x.size(0), t = x.size(2);
  const auto kh = spec.kernel[1], kw = spec.kernel[2], sh = spec.stride[1], sw = spec.stride[2];
  const auto ho = (x.size(3) - kh) / sh + 1, wo = (x.size(4) - kw) / sw + 1;
  // (N*T, C*kh*kw, L) patches, then one batched GEMM with the (out, C*kh*kw) weight.
  const auto cols = F::unfold(frames_of(x), F::UnfoldFuncOptions({kh, kw}).stride({sh, sw}));
  const auto out = weight.view({weight.size(0), -1}).matmul(cols) + bias.view({1, -1, 1});
  return sequences_of(out.view({n * t, weight.size(0), ho, wo}), n, t);
}

FrameConv2dImpl::FrameConv2dImpl(int in_channels, const ConvSpec& s) : spec(s) {
  const auto plain = plain_frame_conv3d(in_channels, s);
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor FrameConv2dImpl::forward(const torch::Tensor& x) {
  const auto out = torch::conv2d(frames_of(x), weight.squeeze(2), bias, {spec.stride[1], spec.stride[2]});
  return sequences_of(out, x.size(0), x.size(2));
}

FrameConvTranspose3dImpl::FrameConvTranspose3dImpl(int in_channels, const ConvSpec& s) : spec(s) {
  torch::nn::ConvTranspose3d plain(
      torch::nn::ConvTranspose3dOptions(in_channels, s.out_channels, {1, s.kernel[1], s.kernel[2]})
          .stride({1, s.stride[1], s.stride[2]}));
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor FrameConvTranspose3dImpl::forward(const torch::Tensor& x) {
  const auto n = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  const auto kh = spec.kernel[1], kw = spec.kernel[2], sh = spec.stride[1], sw = spec.stride[2];
  const auto ho = (h - 1) * sh + kh, wo = (w - 1) * sw + kw;
  // One GEMM gives every output patch, (N*T, out*kh*kw, H*W); fold adds the overlaps.
  const auto patches = weight.view({c, -1}).t().matmul(frames_of(x).reshape({n * t, c, h * w}));
  const auto out = F::fold(patches, F::FoldFuncOptions({ho, wo}, {kh, kw}).stride({sh, sw}));
  return sequences_of(out + bias.view({1, -1, 1, 1}), n, t);
}

}  // namespace cdae::model
