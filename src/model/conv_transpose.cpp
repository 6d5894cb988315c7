#include "model/conv_transpose.h"

namespace cdae::model {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

const std::vector<std::int64_t> kZeros3{0, 0, 0}, kOnes3{1, 1, 1};

// y = W^T x, with conv3d(., W) the convolution whose adjoint this is.
struct ConvTransposeByConvKernels : torch::autograd::Function<ConvTransposeByConvKernels> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               std::vector<std::int64_t> stride) {
    // Under autocast the input may be bf16 while the weight is float32: compute in the input's type.
    const auto w = weight.to(x.scalar_type());
    std::vector<std::int64_t> out_size{x.size(0), weight.size(1)};
    for (int d = 0; d < 3; ++d) out_size.push_back((x.size(2 + d) - 1) * stride[d] + weight.size(2 + d));
    // Only the shape of the convolution's input is read.
    const auto shape_only = torch::empty(out_size, x.options());
    auto y = std::get<0>(at::convolution_backward(x, shape_only, w, c10::nullopt, stride, kZeros3, kOnes3,
                                                  /*transposed=*/false, kZeros3, 1, {true, false, false}));
    ctx->save_for_backward({x, weight});
    ctx->saved_data["stride"] = stride;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &weight = saved[1];
    const auto stride = ctx->saved_data["stride"].toIntVector();
    const auto grad_y = grads[0].contiguous();
    const auto w = weight.to(grad_y.scalar_type());
    torch::Tensor grad_x, grad_w;
    if (ctx->needs_input_grad(0)) grad_x = torch::conv3d(grad_y, w, {}, stride).to(x.scalar_type());
    if (ctx->needs_input_grad(1))
      grad_w = std::get<1>(at::convolution_backward(x.to(grad_y.scalar_type()), grad_y, w, c10::nullopt, stride,
                                                    kZeros3, kOnes3, false, kZeros3, 1, {false, true, false}))
                   .to(weight.scalar_type());
    return {grad_x, grad_w, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor conv_transpose3d_by_conv_kernels(const torch::Tensor& x, const torch::Tensor& weight,
                                               std::vector<std::int64_t> stride) {
  return ConvTransposeByConvKernels::apply(x, weight, std::move(stride));
}

ConvTranspose3dByConvKernelsImpl::ConvTranspose3dByConvKernelsImpl(int in_channels, const ConvSpec& s) : spec(s) {
  // Initialised by the plain layer, so a seed gives the same weights either way.
  torch::nn::ConvTranspose3d plain(
      torch::nn::ConvTranspose3dOptions(in_channels, s.out_channels, {s.kernel[0], s.kernel[1], s.kernel[2]})
          .stride({s.stride[0], s.stride[1], s.stride[2]}));
  weight = register_parameter("weight", plain->weight.detach().clone());
  bias = register_parameter("bias", plain->bias.detach().clone());
}

torch::Tensor ConvTranspose3dByConvKernelsImpl::forward(const torch::Tensor& x) {
  const std::vector<std::int64_t> stride{spec.stride[0], spec.stride[1], spec.stride[2]};
  if (!x.is_cpu()) return torch::conv_transpose3d(x, weight, bias, stride);
  const auto y = conv_transpose3d_by_conv_kernels(x, weight, stride);
  return y + bias.to(y.scalar_type()).view({1, -1, 1, 1, 1});
}

}  // namespace cdae::model
