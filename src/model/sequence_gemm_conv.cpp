#include "model/sequence_gemm_conv.h"

#include <ATen/autocast_mode.h>

#include "model/bias_relu.h"
#include "model/frame_conv.h"
#include "model/frame_kernels.h"

namespace cdae::model {

namespace F = torch::nn::functional;
using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

namespace {

// The type the GEMMs run in: autocast's (bf16) where it is on for the input's
// device, as for the convolutions these layers replace, else the input's.
torch::ScalarType compute_type(const torch::Tensor& x) {
  const auto device = x.device().type();
  return at::autocast::is_autocast_enabled(device) ? at::autocast::get_autocast_dtype(device) : x.scalar_type();
}

// A sequence (C, T, H, W), contiguous -> its patches (C*kh*kw, T*Ho*Wo): one strided copy.
torch::Tensor sequence_patches(const torch::Tensor& s, std::int64_t kh, std::int64_t kw, std::int64_t sh,
                               std::int64_t sw) {
  const auto c = s.size(0), t = s.size(1), h = s.size(2), w = s.size(3);
  const auto ho = (h - kh) / sh + 1, wo = (w - kw) / sw + 1;
  return s.as_strided({c, kh, kw, t, ho, wo}, {t * h * w, w, 1, h * w, sh * w, sw})
      .reshape({c * kh * kw, t * ho * wo});
}

// w (rows, k) times each frame of a sequence seen as (k, T, L): (T, rows, L), the
// layout F::fold takes. bmm reads the frames in place (row stride T*L), so the
// patches need no transposing copy.
torch::Tensor gemm_per_frame(const torch::Tensor& w, const torch::Tensor& seq) {
  const auto k = seq.size(0), t = seq.size(1);
  return torch::bmm(w.expand({t, w.size(0), k}), seq.permute({1, 0, 2}));
}

// Per-frame patches (T, C*kh*kw, L) -> the sequence (C, T, H, W) they add up to.
torch::Tensor fold_frames(const torch::Tensor& per_frame, std::int64_t h, std::int64_t w, std::int64_t kh,
                          std::int64_t kw, std::int64_t sh, std::int64_t sw) {
  return F::fold(per_frame, F::FoldFuncOptions({h, w}, {kh, kw}).stride({sh, sw})).permute({1, 0, 2, 3});
}

// The layout a gradient arrives in (NCDHW or NDHWC), kept so no layout copy is made.
torch::Tensor dense_in_own_layout(const torch::Tensor& t) { return t.contiguous(t.suggest_memory_format()); }

// z = scale * x + shift per input channel (the input norm's affine part, see
// SequenceGemmConvImpl::input_scale), or x where scale is empty (autograd
// functions take no undefined tensors).
torch::Tensor with_input_affine(const torch::Tensor& x, const torch::Tensor& scale, const torch::Tensor& shift) {
  if (scale.numel() == 0) return x;
  const std::vector<std::int64_t> shape{1, -1, 1, 1, 1};
  return x * scale.to(x.scalar_type()).view(shape) + shift.to(x.scalar_type()).view(shape);
}

// The gradient with respect to x from the one with respect to z = scale * x + shift.
torch::Tensor through_input_scale(const torch::Tensor& grad_z, const torch::Tensor& scale) {
  if (scale.numel() == 0) return grad_z;
  return grad_z * scale.to(grad_z.scalar_type()).view({1, -1, 1, 1, 1});
}

// The conv of z = scale * x + shift: from the weight gradient taken over x
// (grad_w_x, the weight's shape) and the bias gradient (sum of the output
// gradient g per output channel), the gradients of the weight, scale and shift:
//   dW[o,c,k] = scale[c] dW_x[o,c,k] + shift[c] db[o]   (a window of the constant shift sums g)
//   dscale[c] = sum_{o,k} W[o,c,k] dW_x[o,c,k]          (= sum_p (W^T g)[c,p] x[c,p])
//   dshift[c] = sum_o db[o] sum_k W[o,c,k]              (= sum_p (W^T g)[c,p]; no padding)
// so the input gradient W^T g, a spread or fold over every input pixel, is not needed.
// Without the affine (scale empty): dW = dW_x, and no scale or shift gradient.
struct AffineInputGradients {
  torch::Tensor weight, scale, shift;
};
AffineInputGradients through_input_affine(const torch::Tensor& weight, const torch::Tensor& grad_w_x,
                                          const torch::Tensor& grad_bias, const torch::Tensor& scale,
                                          const torch::Tensor& shift) {
  if (scale.numel() == 0) return {grad_w_x.view(weight.sizes()).to(weight.scalar_type()), {}, {}};
  const auto out = weight.size(0), in = weight.size(1);
  const auto type = grad_w_x.scalar_type();
  const auto w = weight.to(type).reshape({out, in, -1});
  const auto gx = grad_w_x.reshape({out, in, -1});
  const auto gb = grad_bias.to(type).view({out, 1, 1});
  const auto grad_weight = gx * scale.to(type).view({1, in, 1}) + gb * shift.to(type).view({1, in, 1});
  return {grad_weight.view(weight.sizes()).to(weight.scalar_type()), (w * gx).sum({0, 2}).to(scale.scalar_type()),
          (gb * w).sum({0, 2}).to(shift.scalar_type())};
}

// geometry: {kh, kw, sh, sw, channels_last output}
// With scale and shift: the conv of scale * input + shift (see through_input_affine).
struct ConvBySequenceGemm : torch::autograd::Function<ConvBySequenceGemm> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& scale, const torch::Tensor& shift,
                               std::vector<std::int64_t> geometry) {
    const auto x = with_input_affine(input, scale, shift).to(compute_type(input)).contiguous();
    ctx->save_for_backward({input, weight, scale, shift});
    ctx->saved_data["geometry"] = geometry;
    const auto kh = geometry[0], kw = geometry[1], sh = geometry[2], sw = geometry[3];
    const auto n = x.size(0), t = x.size(2), ho = (x.size(3) - kh) / sh + 1, wo = (x.size(4) - kw) / sw + 1;
    const auto w = weight.reshape({weight.size(0), -1}).to(x.scalar_type());  // (out, C*kh*kw)
    const auto b = bias.to(x.scalar_type()).unsqueeze(1);                     // (out, 1)
    const auto layout = geometry[4] ? torch::MemoryFormat::ChannelsLast3d : torch::MemoryFormat::Contiguous;
    auto out = torch::empty({n, w.size(0), t, ho, wo}, x.options().memory_format(layout));
    for (std::int64_t i = 0; i < n; ++i) {  // out_i: (out, T*L), channel stride T*L or 1
      auto out_i = out[i].view({w.size(0), t * ho * wo});
      torch::addmm_out(out_i, b, w, sequence_patches(x[i], kh, kw, sh, sw));
    }
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &input = saved[0], &weight = saved[1], &scale = saved[2], &shift = saved[3];
    const auto g = ctx->saved_data["geometry"].toIntVector();
    const auto kh = g[0], kw = g[1], sh = g[2], sw = g[3];
    const bool affine = scale.numel() > 0;
    // Under autocast the gradient may be bf16 while the saved tensors are float32:
    // compute in the gradient's type, return each in its input's type.
    const auto grad = dense_in_own_layout(grads[0]);
    // With the affine, the weight gradient is taken over the input itself (through_input_affine).
    const auto x = input.to(grad.scalar_type()).contiguous();
    const auto w = weight.reshape({weight.size(0), -1}).to(grad.scalar_type());  // (out, C*kh*kw)
    const auto n = x.size(0), t = x.size(2), h = x.size(3), wd = x.size(4);
    const bool want_input = ctx->needs_input_grad(0);
    const bool want_weight = ctx->needs_input_grad(1) || affine;  // with the affine, all three come from it
    torch::Tensor grad_input = want_input ? torch::empty_like(x) : torch::Tensor();
    auto grad_w = torch::zeros_like(w);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto g_i = grad[i].view({w.size(0), -1});  // (out, T*L)
      if (want_weight) grad_w.addmm_(g_i, sequence_patches(x[i], kh, kw, sh, sw).t());
      if (want_input)
        grad_input[i].copy_(fold_frames(gemm_per_frame(w.t(), g_i.view({w.size(0), t, -1})), h, wd, kh, kw, sh, sw));
    }
    if (want_input) grad_input = through_input_scale(grad_input, scale).to(input.scalar_type());
    torch::Tensor grad_bias;
    if (ctx->needs_input_grad(2) || affine) grad_bias = grad.sum({0, 2, 3, 4}).to(weight.scalar_type());
    AffineInputGradients grads_w;
    if (want_weight) grads_w = through_input_affine(weight, grad_w, grad_bias, scale, shift);
    return {grad_input, grads_w.weight, grad_bias, grads_w.scale, grads_w.shift, torch::Tensor()};
  }
};

// geometry: {kh, kw, sh, sw}; weight_t (out*kh*kw, C) = the transposed conv's weight, transposed.
struct ConvTransposeBySequenceGemm : torch::autograd::Function<ConvTransposeBySequenceGemm> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight_t,
                               std::int64_t out_channels, std::vector<std::int64_t> geometry) {
    const auto x = dense_in_own_layout(input.to(compute_type(input)));
    ctx->save_for_backward({input, weight_t});
    ctx->saved_data["geometry"] = geometry;
    const auto kh = geometry[0], kw = geometry[1], sh = geometry[2], sw = geometry[3];
    const auto n = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), wd = x.size(4);
    const auto ho = (h - 1) * sh + kh, wo = (wd - 1) * sw + kw;
    const auto w_t = weight_t.to(x.scalar_type());
    auto out = torch::empty({n, out_channels, t, ho, wo}, x.options());
    for (std::int64_t i = 0; i < n; ++i)
      out[i].copy_(fold_frames(gemm_per_frame(w_t, x[i].view({c, t, h * wd})), ho, wo, kh, kw, sh, sw));
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &input = saved[0], &weight_t = saved[1];
    const auto g = ctx->saved_data["geometry"].toIntVector();
    const auto kh = g[0], kw = g[1], sh = g[2], sw = g[3];
    const auto grad = grads[0].contiguous();  // (N, out, T, Ho, Wo)
    const auto x = dense_in_own_layout(input.to(grad.scalar_type()));
    const auto w_t = weight_t.to(grad.scalar_type());  // (out*kh*kw, C)
    const auto n = x.size(0), c = x.size(1);
    auto grad_input = torch::empty_like(x);  // in x's layout
    auto grad_w_t = torch::zeros_like(w_t);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto patches = sequence_patches(grad[i], kh, kw, sh, sw);  // (out*kh*kw, T*L)
      auto grad_i = grad_input[i].view({c, -1});
      torch::mm_out(grad_i, w_t.t(), patches);
      grad_w_t.addmm_(patches, x[i].view({c, -1}).t());
    }
    return {grad_input.to(input.scalar_type()), grad_w_t.to(weight_t.scalar_type()), torch::Tensor(),
            torch::Tensor()};
  }
};

// The type the frame kernels compute in: double for double, else float. bf16
// activations (autocast) are read and written as they are and computed in
// float: with an inner dimension of kh*kw the bf16 GEMMs gained nothing, and
// their patch copies and folds stayed.
torch::ScalarType kernel_type(torch::ScalarType t) { return t == torch::kDouble ? torch::kDouble : torch::kFloat; }
torch::Tensor in_kernel_type(const torch::Tensor& t) { return t.to(kernel_type(t.scalar_type())); }
// The feature type the kernels take with an image of `image`: their own, or
// bf16 with float; anything else is converted to the image's.
torch::ScalarType feature_type_for(torch::ScalarType features, torch::ScalarType image) {
  return features == image || (features == torch::kBFloat16 && image == torch::kFloat) ? features : image;
}
torch::Tensor features_for_kernels(const torch::Tensor& f, torch::ScalarType image) {
  return f.to(feature_type_for(f.scalar_type(), image));
}

// The conv from one image channel by the frame kernels (model/frame_kernels.h),
// and with relu the ReLU after it (its backward in the pass that sums the bias
// gradient, model/bias_relu.h).
// geometry: {kh, kw, sh, sw, channels_last output}
// With scale and shift: the conv of scale * input + shift (see through_input_affine).
struct ConvByFrameKernels : torch::autograd::Function<ConvByFrameKernels> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                               const torch::Tensor& bias, const torch::Tensor& scale, const torch::Tensor& shift,
                               std::vector<std::int64_t> geometry, bool relu) {
    ctx->saved_data["geometry"] = geometry;
    const FrameWindow window{geometry[0], geometry[1], geometry[2], geometry[3]};
    const auto layout = geometry[4] ? torch::MemoryFormat::ChannelsLast3d : torch::MemoryFormat::Contiguous;
    const auto x = in_kernel_type(with_input_affine(input, scale, shift));
    const auto out_type = compute_type(input);
    auto out = window_products(x, weight.reshape({weight.size(0), -1}), bias, window, layout,
                               feature_type_for(out_type, x.scalar_type()))
                   .to(out_type);
    if (relu) out.clamp_min_(0);
    // With the ReLU, its output gives the mask of the backward pass.
    ctx->save_for_backward(relu ? tensor_list{input, weight, scale, shift, out}
                                : tensor_list{input, weight, scale, shift});
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &input = saved[0], &weight = saved[1], &scale = saved[2], &shift = saved[3];
    const auto g = ctx->saved_data["geometry"].toIntVector();
    const FrameWindow window{g[0], g[1], g[2], g[3]};
    const bool affine = scale.numel() > 0;
    // With the affine, the weight gradient is taken over the input itself (through_input_affine).
    const auto x = in_kernel_type(input);
    torch::Tensor grad_output = grads[0], grad_input, grad_bias;
    if (saved.size() == 5) {  // through the ReLU
      auto through_relu = relu_gradient_with_channel_sums(grads[0], saved[4], weight.scalar_type());
      grad_output = through_relu.grad;
      grad_bias = through_relu.channel_sums;
    } else if (ctx->needs_input_grad(2) || affine) {
      grad_bias = grad_output.sum({0, 2, 3, 4}).to(weight.scalar_type());
    }
    const auto grad = features_for_kernels(grad_output, x.scalar_type());  // in either layout
    const auto w = weight.reshape({weight.size(0), -1}).to(x.scalar_type());
    if (ctx->needs_input_grad(0)) {
      grad_input = torch::zeros(x.sizes(), x.options().memory_format(torch::MemoryFormat::Contiguous));
      spread_features(grad, w, window, grad_input);
      grad_input = through_input_scale(grad_input, scale).to(input.scalar_type());
    }
    AffineInputGradients grads_w;
    if (ctx->needs_input_grad(1) || affine)
      grads_w = through_input_affine(weight, window_weight_gradient(x, grad, window), grad_bias, scale, shift);
    return {grad_input, grads_w.weight, grad_bias, grads_w.scale, grads_w.shift, torch::Tensor(), torch::Tensor()};
  }
};

// The transposed conv to one image channel by the frame kernels; weight (C, 1, 1, kh, kw).
// geometry: {kh, kw, sh, sw}
struct ConvTransposeByFrameKernels : torch::autograd::Function<ConvTransposeByFrameKernels> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& weight,
                               std::vector<std::int64_t> geometry) {
    ctx->save_for_backward({input, weight});
    ctx->saved_data["geometry"] = geometry;
    const FrameWindow window{geometry[0], geometry[1], geometry[2], geometry[3]};
    const auto type = kernel_type(input.scalar_type());
    const auto n = input.size(0), t = input.size(2);
    auto out = torch::zeros(
        {n, 1, t, (input.size(3) - 1) * window.sh + window.kh, (input.size(4) - 1) * window.sw + window.kw},
        input.options().dtype(type).memory_format(torch::MemoryFormat::Contiguous));
    spread_features(features_for_kernels(input, type), weight.reshape({weight.size(0), -1}), window, out);
    return out.to(compute_type(input));
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &input = saved[0], &weight = saved[1];
    const auto g = ctx->saved_data["geometry"].toIntVector();
    const FrameWindow window{g[0], g[1], g[2], g[3]};
    const auto type = kernel_type(input.scalar_type());
    const auto grad = grads[0].to(type).contiguous();  // (N, 1, T, Ho, Wo)
    const auto w = weight.reshape({weight.size(0), -1}).to(type);
    torch::Tensor grad_input, grad_weight;
    if (ctx->needs_input_grad(0))
      grad_input = window_products(grad, w, {}, window, input.suggest_memory_format(),
                                   feature_type_for(input.scalar_type(), type))
                       .to(input.scalar_type());
    if (ctx->needs_input_grad(1))
      grad_weight = window_weight_gradient(grad, features_for_kernels(input, type), window)
                        .view(weight.sizes())
                        .to(weight.scalar_type());
    return {grad_input, grad_weight, torch::Tensor()};
  }
};

}  // namespace

SequenceGemmConvImpl::SequenceGemmConvImpl(int in_channels, const ConvSpec& s, bool channels_last_output,
                                           bool frame_kernels, bool relu_after)
    : spec(s), channels_last(channels_last_output), direct(frame_kernels), relu(relu_after) {
  const auto plain = plain_frame_conv3d(in_channels, s);
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor SequenceGemmConvImpl::forward(const torch::Tensor& x) {
  const std::vector<std::int64_t> geometry{spec.kernel[1], spec.kernel[2], spec.stride[1], spec.stride[2],
                                           channels_last ? 1 : 0};
  const auto none = torch::empty({0}, weight.options());
  const auto scale = input_scale.defined() ? input_scale : none, shift = input_shift.defined() ? input_shift : none;
  if (direct && x.size(1) == 1 && x.is_cpu() && x.is_floating_point())
    return ConvByFrameKernels::apply(x, weight, bias, scale, shift, geometry, relu);
  auto out = ConvBySequenceGemm::apply(x, weight, bias, scale, shift, geometry);
  return relu ? torch::relu_(out) : out;  // in place: the GEMM node keeps its input, not its output
}

SequenceGemmConvTransposeImpl::SequenceGemmConvTransposeImpl(int in_channels, const ConvSpec& s, bool frame_kernels)
    : spec(s), direct(frame_kernels) {
  const auto plain = plain_frame_conv_transpose3d(in_channels, s);
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor SequenceGemmConvTransposeImpl::forward(const torch::Tensor& x) {
  const std::vector<std::int64_t> geometry{spec.kernel[1], spec.kernel[2], spec.stride[1], spec.stride[2]};
  torch::Tensor out;
  if (direct && spec.out_channels == 1 && x.is_cpu() && x.is_floating_point()) {
    out = ConvTransposeByFrameKernels::apply(x, weight, geometry);
  } else {
    const auto w_t = weight.view({weight.size(0), -1}).t();  // (out*kh*kw, C)
    out = ConvTransposeBySequenceGemm::apply(x, w_t, spec.out_channels, geometry);
  }
  // In place where the types agree (neither node keeps its output for the
  // backward pass); under bf16 autocast the float bias promotes, as before.
  if (out.scalar_type() == bias.scalar_type()) return out.add_(bias.view({1, -1, 1, 1, 1}));
  return out + bias.view({1, -1, 1, 1, 1});
}

}  // namespace cdae::model
