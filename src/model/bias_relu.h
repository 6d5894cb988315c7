// A layer's per-channel bias and the ReLU after it, over a large activation,
// and the gradient back through them, each in one pass over memory.
//
// Why not ATen's ops: in the channels-last layout (NDHWC) ATen's bf16 add_ of a
// (C) bias runs its inner loop over one pixel's C channels, 16 at the cpu
// preset: 5.1 ms for that preset's 1.8M-value activation, against 0.3 ms in
// NCDHW and 0.2 ms in float, ~9% of its bf16 step (docs/performance.md). And a
// separate ReLU is one more pass over the activation each way (clamp_min_ and
// threshold_backward), plus a fresh gradient tensor.
//
// Layouts: NCDHW or channels-last 3-D (any dimension count for NCDHW-like
// contiguous tensors), on the CPU, in float, double or bf16 (bf16 computed in
// float). Anything else takes the ATen ops, with the same results.
#pragma once
#include <torch/torch.h>

namespace cdae::model {

// y = y + bias[c], then max(y, 0) if relu; in place. y: (N, C, ...); bias: (C),
// any floating type.
void add_bias_relu_(torch::Tensor& y, const torch::Tensor& bias, bool relu);

// Back through y = max(z, 0) given its output y: grad_z = grad_y where y > 0,
// else 0, in y's layout and type; and grad_z summed over all but the channel
// dimension (the bias gradient), in sums_type. The sums add float blocks of
// 256 values in double, in an order that does not depend on the thread count.
struct ReluGradient {
  torch::Tensor grad, channel_sums;
};
ReluGradient relu_gradient_with_channel_sums(const torch::Tensor& grad_y, const torch::Tensor& y,
                                             torch::ScalarType sums_type);

}  // namespace cdae::model
