#include "model/conv_transpose.h"

#include "model/bias_relu.h"
#include "model/layout_copy.h"

namespace cdae::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

const std::vector<std::int64_t> kZeros3{0, 0, 0}, kOnes3{1, 1, 1};

// From this many channels (of the large activation) the backward-data kernels
// run channels-last whatever the layout, the result copied back by the tiled
// copy: measured at the seed's 128 channels. At the small preset's 8, oneDNN
// keeps NCDHW itself and the detour cost time (smoke epoch ~27 -> ~32 ms).
constexpr std::int64_t kChannelsLastFromChannels = 64;

torch::MemoryFormat layout_of(std::int64_t channels_last) {
  return channels_last ? torch::MemoryFormat::ChannelsLast3d : torch::MemoryFormat::Contiguous;
}

// y = W^T x + b, with conv3d(., W) the convolution whose adjoint this is.
// oneDNN runs each kernel in the layout of its (first) data input, so every
// tensor handed to it is put in the output's layout first: the small ones
// (x, the weight) are copied, the large one (the output gradient) arrives in it.
struct ConvTransposeByConvKernels : torch::autograd::Function<ConvTransposeByConvKernels> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, std::vector<std::int64_t> stride,
                               std::int64_t channels_last, bool relu) {
    const auto layout = layout_of(channels_last);
    // On CPUs the kernel runs channels-last whatever the output's layout: for
    // NCDHW tensors oneDNN computes in channels-last anyway on AVX-512 CPUs and
    // ATen copies the result back at ~0.3 GB/s (4 s per 1.2 GB activation of
    // the seed); the tiled copy below does it several times faster.
    const auto compute_layout =
        x.is_cpu() && weight.size(1) >= kChannelsLastFromChannels ? torch::MemoryFormat::ChannelsLast3d : layout;
    // Under autocast the input may be bf16 while the weight is float32: compute in the input's type.
    const auto w = weight.to(x.scalar_type()).contiguous(compute_layout);
    std::vector<std::int64_t> out_size{x.size(0), weight.size(1)};
    for (int d = 0; d < 3; ++d) out_size.push_back((x.size(2 + d) - 1) * stride[d] + weight.size(2 + d));
    // Only the shape (and layout) of the convolution's input is read.
    const auto shape_only = torch::empty(out_size, x.options().memory_format(compute_layout));
    auto y = std::get<0>(at::convolution_backward(x.contiguous(compute_layout), shape_only, w, c10::nullopt, stride,
                                                  kZeros3, kOnes3, /*transposed=*/false, kZeros3, 1,
                                                  {true, false, false}));
    y = layout == torch::MemoryFormat::Contiguous ? ncdhw_from_channels_last(y) : y.contiguous(layout);
    add_bias_relu_(y, bias, relu);
    // With the ReLU, its output gives the mask of the backward pass (an
    // output saved here is not a copy).
    ctx->save_for_backward(relu ? tensor_list{x, weight, y} : tensor_list{x, weight});
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["channels_last"] = channels_last;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1];
    const auto stride = ctx->saved_data["stride"].toIntVector();
    const auto layout = layout_of(ctx->saved_data["channels_last"].toInt());
    torch::Tensor grad_y, grad_x, grad_w, grad_b;
    if (saved.size() == 3) {  // through the ReLU, its bias gradient in the same pass
      auto through_relu = relu_gradient_with_channel_sums(grads[0], saved[2], weight.scalar_type());
      grad_y = through_relu.grad.contiguous(layout);
      grad_b = through_relu.channel_sums;
    } else {
      grad_y = grads[0].contiguous(layout);
      if (ctx->needs_input_grad(2)) grad_b = grad_y.sum({0, 2, 3, 4}).to(weight.scalar_type());
    }
    const auto w = weight.to(grad_y.scalar_type()).contiguous(layout);
    if (ctx->needs_input_grad(0))
      grad_x = torch::conv3d(grad_y, w, {}, stride).to(x.scalar_type()).contiguous(x.suggest_memory_format());
    if (ctx->needs_input_grad(1))
      grad_w = std::get<1>(at::convolution_backward(x.to(grad_y.scalar_type()).contiguous(layout), grad_y, w,
                                                    c10::nullopt, stride, kZeros3, kOnes3, false, kZeros3, 1,
                                                    {false, true, false}))
                   .to(weight.scalar_type())
                   .contiguous();
    return {grad_x, grad_w, grad_b, torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// y = conv3d(x, W) + b, its input gradient computed channels-last (see the header).
struct Conv3dChannelsLastInputGradient : torch::autograd::Function<Conv3dChannelsLastInputGradient> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, std::vector<std::int64_t> stride) {
    ctx->save_for_backward({x, weight});
    ctx->saved_data["stride"] = stride;
    // Under autocast the input may be bf16 while the weight is float32: compute in the input's type.
    return torch::conv3d(x, weight.to(x.scalar_type()), bias.to(x.scalar_type()), stride);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1];
    const auto stride = ctx->saved_data["stride"].toIntVector();
    const auto grad_y = grads[0].to(x.scalar_type());
    const auto w = weight.to(x.scalar_type());
    torch::Tensor grad_x, grad_w, grad_b;
    if (ctx->needs_input_grad(0)) {
      const auto cl = x.size(1) >= kChannelsLastFromChannels ? torch::MemoryFormat::ChannelsLast3d
                                                             : x.suggest_memory_format();
      const auto shape_only = torch::empty(x.sizes(), x.options().memory_format(cl));
      grad_x = std::get<0>(at::convolution_backward(grad_y.contiguous(cl), shape_only, w.contiguous(cl), c10::nullopt,
                                                    stride, kZeros3, kOnes3, false, kZeros3, 1, {true, false, false}));
      grad_x = x.is_contiguous() ? ncdhw_from_channels_last(grad_x) : grad_x.contiguous(x.suggest_memory_format());
    }
    if (ctx->needs_input_grad(1) || ctx->needs_input_grad(2)) {
      const std::vector<std::int64_t> bias_sizes{w.size(0)};
      auto [unused, gw, gb] = at::convolution_backward(grad_y, x, w, bias_sizes, stride, kZeros3, kOnes3, false,
                                                       kZeros3, 1, {false, true, true});
      grad_w = gw.to(weight.scalar_type());
      grad_b = gb.to(weight.scalar_type());
    }
    return {grad_x, grad_w, grad_b, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor conv_transpose3d_by_conv_kernels(const torch::Tensor& x, const torch::Tensor& weight,
                                               const torch::Tensor& bias, std::vector<std::int64_t> stride,
                                               torch::MemoryFormat layout, bool relu) {
  return ConvTransposeByConvKernels::apply(x, weight, bias, std::move(stride),
                                           layout == torch::MemoryFormat::ChannelsLast3d ? 1 : 0, relu);
}

ConvTranspose3dByConvKernelsImpl::ConvTranspose3dByConvKernelsImpl(int in_channels, const ConvSpec& s,
                                                                   bool channels_last_output, bool relu_after)
    : spec(s), channels_last(channels_last_output), relu(relu_after) {
  // Initialised by the plain layer, so a seed gives the same weights either way.
  torch::nn::ConvTranspose3d plain(
      torch::nn::ConvTranspose3dOptions(in_channels, s.out_channels, {s.kernel[0], s.kernel[1], s.kernel[2]})
          .stride({s.stride[0], s.stride[1], s.stride[2]}));
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor ConvTranspose3dByConvKernelsImpl::forward(const torch::Tensor& x) {
  const std::vector<std::int64_t> stride{spec.stride[0], spec.stride[1], spec.stride[2]};
  if (!x.is_cpu()) {
    auto y = torch::conv_transpose3d(x, weight, bias, stride);
    return relu ? torch::relu_(y) : y;
  }
  return conv_transpose3d_by_conv_kernels(
      x, weight, bias, stride, channels_last ? torch::MemoryFormat::ChannelsLast3d : torch::MemoryFormat::Contiguous,
      relu);
}

Conv3dByConvKernelsImpl::Conv3dByConvKernelsImpl(int in_channels, const ConvSpec& s) : spec(s) {
  // Initialised by the plain layer, so a seed gives the same weights either way.
  torch::nn::Conv3d plain(torch::nn::Conv3dOptions(in_channels, s.out_channels, {s.kernel[0], s.kernel[1], s.kernel[2]})
                              .stride({s.stride[0], s.stride[1], s.stride[2]}));
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor Conv3dByConvKernelsImpl::forward(const torch::Tensor& x) {
  const std::vector<std::int64_t> stride{spec.stride[0], spec.stride[1], spec.stride[2]};
  if (!x.is_cpu()) return torch::conv3d(x, weight, bias, stride);
  return Conv3dChannelsLastInputGradient::apply(x, weight, bias, stride);
}

}  // namespace cdae::model
