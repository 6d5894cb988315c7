// The one-channel layers of the autoencoder, Conv3d(1 -> 128, k = (1, 13, 13))
// and ConvTranspose3d(128 -> 1, same kernel), act on each frame separately.
// As cuDNN runs them they do not use the GPU's matrix units (55 ms each of a
// 178 ms bf16 step in SEED-MODEL.md); written as im2col + one GEMM over all
// frames they do. Same parameters (names, shapes, default initialisation) and
// the same function as the plain layers, which a test checks.
#pragma once
#include <torch/torch.h>

#include "model/architecture.h"

namespace cdae::model {

// Conv3d with kernel (1, kh, kw), stride (1, sh, sw), no padding.
struct FrameConv3dImpl : torch::nn::Module {
  FrameConv3dImpl(int in_channels, const ConvSpec& spec);
  torch::Tensor forward(const torch::Tensor& x);  // (N, C, T, H, W)
  ConvSpec spec;
  torch::Tensor weight, bias;  // (out, in, 1, kh, kw), (out)
};
TORCH_MODULE(FrameConv3d);

// The same layer as a 2-D convolution over the N*T frames. On CPUs oneDNN's
// 2-D kernels are far faster for one input channel: the cpu preset's
// 1 -> 16 layer, forward + weight gradient, 3 ms instead of 89 ms. Its two
// gradients are batched GEMMs (with the input's patches; folded into frames),
// not oneDNN's kernels (5-10% of the GEMM peak for the seed's 1 -> 128, 13x13).
struct FrameConv2dImpl : torch::nn::Module {
  FrameConv2dImpl(int in_channels, const ConvSpec& spec);
  torch::Tensor forward(const torch::Tensor& x);  // (N, C, T, H, W)
  ConvSpec spec;
  torch::Tensor weight, bias;  // (out, in, 1, kh, kw), (out): the Conv3d's parameters
};
TORCH_MODULE(FrameConv2d);

// ConvTranspose3d with kernel (1, kh, kw), stride (1, sh, sw), no padding.
struct FrameConvTranspose3dImpl : torch::nn::Module {
  FrameConvTranspose3dImpl(int in_channels, const ConvSpec& spec);
  torch::Tensor forward(const torch::Tensor& x);  // (N, C, T, H, W)
  ConvSpec spec;
  torch::Tensor weight, bias;  // (in, out, 1, kh, kw), (out)
};
TORCH_MODULE(FrameConvTranspose3d);

// The plain one-frame layers that every faster form takes its parameters from,
// so a seed gives the same weights whichever form runs.
torch::nn::Conv3d plain_frame_conv3d(int in_channels, const ConvSpec& spec);
torch::nn::ConvTranspose3d plain_frame_conv_transpose3d(int in_channels, const ConvSpec& spec);

// True when a layer works frame by frame (temporal kernel and stride 1).
inline bool is_framewise(const ConvSpec& s) { return s.kernel[0] == 1 && s.stride[0] == 1; }

}  // namespace cdae::model
