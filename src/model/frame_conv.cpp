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

// w (rows, k) times each of the batch's (k, cols) matrices. torch::matmul of a 2-D by a
// 3-D tensor folds the batch by transposing the 3-D operand and its result (two strided
// copies that cost more than the GEMM at the seed's sizes); bmm of the expanded weight
// reads both in place and writes (batch, rows, cols) contiguous.
torch::Tensor batched_gemm(const torch::Tensor& w, const torch::Tensor& batch) {
  return torch::bmm(w.expand({batch.size(0), w.size(0), w.size(1)}), batch);
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
  const auto out = batched_gemm(weight.view({weight.size(0), -1}).to(cols.scalar_type()), cols) +
                   bias.view({1, -1, 1});
  return sequences_of(out.view({n * t, weight.size(0), ho, wo}), n, t);
}

FrameConv2dImpl::FrameConv2dImpl(int in_channels, const ConvSpec& s) : spec(s) {
  const auto plain = plain_frame_conv3d(in_channels, s);
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// conv2d over frames whose weight gradient is one batched GEMM of the output gradient
// with the input's patches: oneDNN's weight-gradient kernel for a one-input-channel,
// 13x13 layer runs at 5-10% of this CPU's GEMM peak, the GEMM at ~40% (docs/performance.md).
// The forward and the input gradient stay oneDNN's convolution kernels.
struct Conv2dWithGemmWeightGrad : torch::autograd::Function<Conv2dWithGemmWeightGrad> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& frames, const torch::Tensor& weight,
                               const torch::Tensor& bias, std::vector<std::int64_t> stride) {
    ctx->save_for_backward({frames, weight});
    ctx->saved_data["stride"] = stride;
    return torch::conv2d(frames, weight.squeeze(2), bias, stride);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &frames = saved[0], &weight = saved[1];
    const auto stride = ctx->saved_data["stride"].toIntVector();
    // Under autocast the gradient may be bf16 while the saved weight and frames are
    // float32: compute in the gradient's type, return each in its parameter's type.
    const auto g = grads[0].contiguous();
    const auto x = frames.to(g.scalar_type());
    const auto w = weight.squeeze(2).to(g.scalar_type());
    torch::Tensor grad_frames, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0))
      grad_frames = std::get<0>(at::convolution_backward(g, x, w, c10::nullopt, stride, {0, 0}, {1, 1}, false,
                                                         {0, 0}, 1, {true, false, false}))
                        .to(frames.scalar_type());
    if (ctx->needs_input_grad(1)) {
      const auto cols = F::unfold(x, F::UnfoldFuncOptions({w.size(2), w.size(3)}).stride(stride));
      const auto per_frame = torch::bmm(g.view({g.size(0), g.size(1), -1}), cols.transpose(1, 2));
      grad_weight = per_frame.sum(0).view(weight.sizes()).to(weight.scalar_type());
    }
    if (ctx->needs_input_grad(2)) grad_bias = g.sum({0, 2, 3}).to(weight.scalar_type());
    return {grad_frames, grad_weight, grad_bias, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor FrameConv2dImpl::forward(const torch::Tensor& x) {
  const auto out = Conv2dWithGemmWeightGrad::apply(frames_of(x), weight, bias, std::vector<std::int64_t>{
                                                                                  spec.stride[1], spec.stride[2]});
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
  const auto frames = frames_of(x).reshape({n * t, c, h * w});
  const auto patches = batched_gemm(weight.view({c, -1}).t().to(frames.scalar_type()), frames);
  const auto out = F::fold(patches, F::FoldFuncOptions({ho, wo}, {kh, kw}).stride({sh, sw}));
  return sequences_of(out + bias.view({1, -1, 1, 1}), n, t);
}

}  // namespace cdae::model
