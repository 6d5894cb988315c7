// The one-frame layers (kernel 1 x kh x kw) as one GEMM per sequence, in the
// NCDHW layout the rest of the model uses: a sequence's patches, a
// (C*kh*kw, T*L) matrix, are a strided view of its frames, so
//   conv:            out_n (out, T*L) = W (out, C*kh*kw) . P_n + b
//   transposed conv: out_n = fold over frames of W^T (out*kh*kw, C) . x_n (C, T*L)
// and both gradients are GEMMs with the same matrices. The frame-by-frame forms
// (frame_conv.h) return (N*T, C, H, W) frames, which the next layer copied into
// NCDHW, in both passes: three copies of the seed's 1.2 GB activation, 10% of its
// step (docs/performance.md, "The whole step, operator by operator"). Same
// parameters (names, shapes, default initialisation) and the same function as
// the plain Conv3d / ConvTranspose3d, which tests check.
//
// Layouts: the conv writes NCDHW or, with channels_last, NDHWC (the product is
// then computed transposed, P_n^T W^T, into the same memory: no copy either
// way). The transposed conv reads its input in whichever of the two layouts it
// comes and gives the input gradient in that layout. The matrices above are
// views of a sequence in both layouts (channel stride T*L or 1), which the BLAS
// takes as they are.
#pragma once
#include <torch/torch.h>

#include "model/architecture.h"

namespace cdae::model {

struct SequenceGemmConvImpl : torch::nn::Module {
  SequenceGemmConvImpl(int in_channels, const ConvSpec& spec, bool channels_last = false, bool frame_kernels = false,
                       bool relu = false);
  torch::Tensor forward(const torch::Tensor& x);  // (N, C, T, H, W)
  ConvSpec spec;
  bool channels_last;  // the output's layout
  bool direct;         // one input channel, on the CPU: by the frame kernels (model/frame_kernels.h)
  bool relu;           // max(y, 0) applied to the output, inside the layer (model/bias_relu.h)
  torch::Tensor weight, bias;  // (out, in, 1, kh, kw), (out): the Conv3d's
  // Where defined (in), the layer computes the conv of input_scale * x +
  // input_shift per input channel: the input norm's weight and bias, which it
  // holds, not owns (InputBatchNormImpl::affine_in_next_layer). Its backward
  // then gives their gradients from its weight gradient, with no input gradient:
  // a spread or fold over every input pixel, 5% of the cpu preset's step.
  torch::Tensor input_scale, input_shift;
};
TORCH_MODULE(SequenceGemmConv);

struct SequenceGemmConvTransposeImpl : torch::nn::Module {
  SequenceGemmConvTransposeImpl(int in_channels, const ConvSpec& spec, bool frame_kernels = false);
  torch::Tensor forward(const torch::Tensor& x);  // (N, C, T, H, W)
  ConvSpec spec;
  bool direct;  // one output channel, on the CPU: by the frame kernels (model/frame_kernels.h)
  torch::Tensor weight, bias;  // (in, out, 1, kh, kw), (out): the ConvTranspose3d's
};
TORCH_MODULE(SequenceGemmConvTranspose);

}  // namespace cdae::model
