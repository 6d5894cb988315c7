#include "model/frame_conv.h"

#include <algorithm>

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

// w (rows, k) times each of the batch's (k, cols) matrices. torch::matmul of a 2-D by a
// 3-D tensor folds the batch by transposing the 3-D operand and its result (two strided
// copies that cost more than the GEMM at the seed's sizes); bmm of the expanded weight
// reads both in place and writes (batch, rows, cols) contiguous.
torch::Tensor batched_gemm(const torch::Tensor& w, const torch::Tensor& batch) {
  return torch::bmm(w.expand({batch.size(0), w.size(0), w.size(1)}), batch);
}

// (F, C, H, W) frames -> (F, C*kh*kw, L) patches, as F::unfold, but as one strided
// copy of a view of the frames: ATen's im2col kernel runs ~2.4x slower on the seed's
// 13x13 patches of 101x101 frames.
torch::Tensor frame_patches(const torch::Tensor& frames, std::int64_t kh, std::int64_t kw, std::int64_t sh,
                            std::int64_t sw) {
  const auto x = frames.contiguous();
  const auto f = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  const auto ho = (h - kh) / sh + 1, wo = (w - kw) / sw + 1;
  return x.as_strided({f, c, kh, kw, ho, wo}, {c * h * w, h * w, w, 1, sh * w, sw}).reshape({f, c * kh * kw, ho * wo});
}

// Frames per chunk so that a chunk's patches take ~16 MB: they and the GEMM's
// other operand then stay in a 32 MB L3 cache, where the patches of all 1134
// frames of a seed batch would be 6 GB, written to fresh pages and read back
// from memory.
std::int64_t frames_per_chunk(std::int64_t patch_elements_per_frame, std::int64_t element_size) {
  constexpr std::int64_t chunk_bytes = 16 << 20;
  return std::max<std::int64_t>(1, chunk_bytes / (patch_elements_per_frame * element_size));
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

// conv2d over frames, forward by oneDNN, both gradients by batched GEMMs a chunk of
// frames at a time: the weight's, the output gradient times the input's patches;
// the input's, the transposed weight times the output gradient, folded into frames
// (the decoder's one-frame layer in reverse). For the seed's one-input-channel,
// 13x13 layer oneDNN's gradient kernels run at 5-10% of this CPU's GEMM peak, the
// GEMMs at ~40% (docs/performance.md). The input gradient is needed even though
// the input is data: the input batch norm's scale and shift learn through it.
struct Conv2dWithGemmGradients : torch::autograd::Function<Conv2dWithGemmGradients> {
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
    const auto w = weight.squeeze(2).to(g.scalar_type());  // (out, C, kh, kw)
    const auto kh = w.size(2), kw = w.size(3);
    const auto rows = g.view({g.size(0), g.size(1), -1});  // (F, out, L)
    const auto w_t = w.reshape({w.size(0), -1}).t();        // (C*kh*kw, out)
    const bool want_input = ctx->needs_input_grad(0), want_weight = ctx->needs_input_grad(1);
    std::vector<torch::Tensor> input_parts;
    auto weight_sum = torch::zeros({w.size(0), w_t.size(0)}, g.options());
    const auto chunk = frames_per_chunk(w_t.size(0) * rows.size(2), g.element_size());
    for (std::int64_t f = 0; f < x.size(0); f += chunk) {
      const auto n = std::min(chunk, x.size(0) - f);
      const auto g_chunk = rows.narrow(0, f, n);
      if (want_input)
        input_parts.push_back(F::fold(batched_gemm(w_t, g_chunk),
                                      F::FoldFuncOptions({x.size(2), x.size(3)}, {kh, kw}).stride(stride)));
      if (want_weight)
        // bmm + sum, not addbmm_: ATen's addbmm_ is one addmm_ call per frame, which costs
        // more than the GEMMs at the small presets' 17x17 frames.
        weight_sum += torch::bmm(g_chunk, frame_patches(x.narrow(0, f, n), kh, kw, stride[0], stride[1]).transpose(1, 2))
                          .sum(0);
    }
    torch::Tensor grad_frames, grad_weight, grad_bias;
    if (want_input) grad_frames = torch::cat(input_parts).to(frames.scalar_type());
    if (want_weight) grad_weight = weight_sum.view(weight.sizes()).to(weight.scalar_type());
    if (ctx->needs_input_grad(2)) grad_bias = g.sum({0, 2, 3}).to(weight.scalar_type());
    return {grad_frames, grad_weight, grad_bias, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor FrameConv2dImpl::forward(const torch::Tensor& x) {
  const auto out = Conv2dWithGemmGradients::apply(frames_of(x), weight, bias, std::vector<std::int64_t>{
                                                                                  spec.stride[1], spec.stride[2]});
  return sequences_of(out, x.size(0), x.size(2));
}

namespace {

// The transposed one-frame layer, a chunk of frames at a time in both passes:
// out_f = fold(W^T x_f), W^T the (out*kh*kw, C) weight. Its own autograd node, as
// autograd of a loop over narrow()ed chunks would give each chunk's input gradient
// as a zero-filled tensor of the whole input, summed: 95 passes over 1.2 GB at the
// seed batch, slower than the layer itself. geometry: {out_h, out_w, kh, kw, sh, sw}.
struct FrameTransposedGemm : torch::autograd::Function<FrameTransposedGemm> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& frames, const torch::Tensor& w_t,
                               std::vector<std::int64_t> geometry) {
    ctx->save_for_backward({frames, w_t});
    ctx->saved_data["geometry"] = geometry;
    const auto& g = geometry;
    const auto n_frames = frames.size(0);
    const auto chunk = frames_per_chunk(w_t.size(0) * frames.size(2), frames.element_size());
    std::vector<torch::Tensor> outs;
    for (std::int64_t f = 0; f < n_frames; f += chunk)
      outs.push_back(F::fold(batched_gemm(w_t, frames.narrow(0, f, std::min(chunk, n_frames - f))),
                             F::FoldFuncOptions({g[0], g[1]}, {g[2], g[3]}).stride({g[4], g[5]})));
    return outs.size() == 1 ? outs.front() : torch::cat(outs);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &frames = saved[0], &w_t = saved[1];
    const auto g = ctx->saved_data["geometry"].toIntVector();
    // Under autocast the gradient may be bf16 while the saved tensors are float32:
    // compute in the gradient's type, return each in its input's type.
    const auto grad_out = grads[0].contiguous();
    const auto x = frames.to(grad_out.scalar_type());
    const auto w = w_t.t().to(grad_out.scalar_type());  // (C, out*kh*kw)
    const auto n_frames = x.size(0);
    auto grad_frames = torch::empty_like(x, torch::MemoryFormat::Contiguous);
    auto grad_w_t = torch::zeros({w_t.size(0), w_t.size(1)}, grad_out.options());
    const auto chunk = frames_per_chunk(w_t.size(0) * x.size(2), x.element_size());
    for (std::int64_t f = 0; f < n_frames; f += chunk) {
      const auto n = std::min(chunk, n_frames - f);
      const auto patches = frame_patches(grad_out.narrow(0, f, n), g[2], g[3], g[4], g[5]);  // (n, out*kh*kw, L)
      auto grad_chunk = grad_frames.narrow(0, f, n);                                         // contiguous rows
      torch::bmm_out(grad_chunk, w.expand({n, w.size(0), w.size(1)}), patches);
      grad_w_t += torch::bmm(patches, x.narrow(0, f, n).transpose(1, 2)).sum(0);
    }
    return {grad_frames.to(frames.scalar_type()), grad_w_t.to(w_t.scalar_type()), torch::Tensor()};
  }
};

}  // namespace

FrameConvTranspose3dImpl::FrameConvTranspose3dImpl(int in_channels, const ConvSpec& s) : spec(s) {
  const auto plain = plain_frame_conv_transpose3d(in_channels, s);
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor FrameConvTranspose3dImpl::forward(const torch::Tensor& x) {
  const auto n = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), w = x.size(4);
  const auto kh = spec.kernel[1], kw = spec.kernel[2], sh = spec.stride[1], sw = spec.stride[2];
  const auto ho = (h - 1) * sh + kh, wo = (w - 1) * sw + kw;
  // A GEMM gives a frame's output patches, (out*kh*kw, H*W); fold adds the overlaps.
  const auto frames = frames_of(x).reshape({n * t, c, h * w});
  const auto w_t = weight.view({c, -1}).t().to(frames.scalar_type());
  const auto out = FrameTransposedGemm::apply(frames, w_t, std::vector<std::int64_t>{ho, wo, kh, kw, sh, sw});
  return sequences_of(out + bias.view({1, -1, 1, 1}), n, t);
}

torch::nn::Conv3d plain_frame_conv3d(int in_channels, const ConvSpec& s) {
  return torch::nn::Conv3d(torch::nn::Conv3dOptions(in_channels, s.out_channels, {1, s.kernel[1], s.kernel[2]})
                               .stride({1, s.stride[1], s.stride[2]}));
}

torch::nn::ConvTranspose3d plain_frame_conv_transpose3d(int in_channels, const ConvSpec& s) {
  return torch::nn::ConvTranspose3d(
      torch::nn::ConvTranspose3dOptions(in_channels, s.out_channels, {1, s.kernel[1], s.kernel[2]})
          .stride({1, s.stride[1], s.stride[2]}));
}

}  // namespace cdae::model
