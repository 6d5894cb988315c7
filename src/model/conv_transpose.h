// ConvTranspose3d computed by convolution kernels. A transposed convolution is
// the adjoint of a convolution with the same weight, so its forward pass is a
// convolution's input gradient, its input gradient is a plain convolution, and
// its weight gradient is a convolution's weight gradient. On CPUs LibTorch
// runs those three through oneDNN, while ConvTranspose3d itself falls back to
// slow_conv_transpose3d: for the cpu preset's 32->16, 5x5x5, stride (4,2,2)
// layer the step goes from ~700 ms to ~15 ms (docs/performance.md). Same
// parameters (names, shapes, default initialisation) and the same function as
// torch::nn::ConvTranspose3d, which a test checks forward and backward. On
// other devices the native kernel (cuDNN) is used.
//
// The forward's kernel runs channels-last from 64 output channels on, the
// result copied back to NCDHW by the tiled copy where the output is NCDHW
// (model/layout_copy.h: oneDNN computes channels-last there anyway on AVX-512
// CPUs and ATen's copy back was 4 s per step of the seed).
//
// With channels_last the output is NDHWC: all three kernels then run
// channels-last, ~1.2-1.8x faster for the forward and input gradient at the
// seed's 64 -> 128, 5x5x5 layer, and the layers after it read it as it is. The
// bias is added inside the node, in place: one pass over the output instead
// of a fresh tensor (1.2 GB at the seed's batch). With relu the ReLU that
// follows the layer runs in that same pass, and its backward in the pass that
// sums the bias gradient (model/bias_relu.h).
#pragma once
#include <torch/torch.h>

#include "model/architecture.h"

namespace cdae::model {

// No padding, no output padding, one group (what the presets use).
struct ConvTranspose3dByConvKernelsImpl : torch::nn::Module {
  ConvTranspose3dByConvKernelsImpl(int in_channels, const ConvSpec& spec, bool channels_last = false,
                                   bool relu = false);
  torch::Tensor forward(const torch::Tensor& x);  // (N, C, T, H, W)
  ConvSpec spec;
  bool channels_last;  // the output's layout
  bool relu;           // max(y, 0) applied to the output, inside the layer
  torch::Tensor weight, bias;  // (in, out, kt, kh, kw), (out)
};
TORCH_MODULE(ConvTranspose3dByConvKernels);

// The function itself, for tests: conv_transpose3d(x, weight, bias, stride), the
// output in the given layout, and relu'd with relu.
torch::Tensor conv_transpose3d_by_conv_kernels(const torch::Tensor& x, const torch::Tensor& weight,
                                               const torch::Tensor& bias, std::vector<std::int64_t> stride,
                                               torch::MemoryFormat layout = torch::MemoryFormat::Contiguous,
                                               bool relu = false);

// Conv3d whose input gradient, from 64 input channels on, runs channels-last on
// CPUs and comes back NCDHW through the tiled copy (model/layout_copy.h): oneDNN computes that gradient
// channels-last anyway on AVX-512 CPUs, and ATen's own copy back to NCDHW was
// 4 s per step of the seed (docs/performance.md). The input gradient needs only
// the input's shape, so the input itself is not copied. Forward and weight
// gradient are torch::conv3d's. Same parameters and function as
// torch::nn::Conv3d (no padding, one group), which a test checks.
struct Conv3dByConvKernelsImpl : torch::nn::Module {
  Conv3dByConvKernelsImpl(int in_channels, const ConvSpec& spec);
  torch::Tensor forward(const torch::Tensor& x);  // (N, C, T, H, W)
  ConvSpec spec;
  torch::Tensor weight, bias;  // (out, in, kt, kh, kw), (out)
};
TORCH_MODULE(Conv3dByConvKernels);

}  // namespace cdae::model
