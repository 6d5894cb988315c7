// The one-frame layers (kernel 1 x kh x kw, stride 1 x sh x sw, no padding) whose
// image side has one channel, as it has for grey frames: conv1 (1 -> C) and the
// last transposed conv (C -> 1). Each output value is computed from its window
// directly, with no patch matrix and no fold. With one image channel the
// GEMMs of the patch form have an inner dimension of kh*kw (25 at the cpu
// preset), too small for a BLAS to be efficient, and the patch copies and
// folds around them cost more than the products: 29% of the cpu preset's step
// (docs/performance.md, "One-channel frame layers computed directly").
//
// Two kernels and one reduction, the same three for both layers:
//   features = window_products(image):  f[c, t, y, x] = b[c] + sum_k w[c, k] image[t, sh*y + i, sw*x + j]
//   image += spread_features(features):  image[t, sh*y + i, sw*x + j] += sum_c w[c, k] f[c, t, y, x]
//   window_weight_gradient:               dw[c, k] = sum_{t,y,x} f[c, t, y, x] image[t, sh*y + i, sw*x + j]
// with k = i*kw + j. The conv is window_products (its input gradient
// spread_features, its weight gradient window_weight_gradient of input and
// output gradient); the transposed conv is spread_features (its input gradient
// window_products of the output gradient, its weight gradient
// window_weight_gradient of that and its input).
//
// image: (N, 1, T, H, W), contiguous. features: (N, C, T, Ho, Wo) in either
// layout (NCDHW or NDHWC), Ho = (H - kh) / sh + 1. w: (C, kh*kw). Computed in
// the image's type, float or double (the inner loops also built for AVX2 + FMA
// and picked at load time); with a float image the features may be bf16 (bf16
// autocast), converted a row at a time. Sequences run in parallel over
// LibTorch's threads.
#pragma once
#include <torch/torch.h>

namespace cdae::model {

struct FrameWindow {
  std::int64_t kh, kw, sh, sw;
};

// Whether the kernels take these tensors: on the CPU, float or double.
bool frame_kernels_take(const torch::Tensor& t);

// (N, C, T, Ho, Wo) in `layout` and features_type (the image's if Undefined;
// bf16 with a float image); bias (C) or undefined.
torch::Tensor window_products(const torch::Tensor& image, const torch::Tensor& w, const torch::Tensor& bias,
                              FrameWindow window, torch::MemoryFormat layout,
                              torch::ScalarType features_type = torch::ScalarType::Undefined);

// image (N, 1, T, H, W), contiguous, updated in place.
void spread_features(const torch::Tensor& features, const torch::Tensor& w, FrameWindow window, torch::Tensor& image);

// (C, kh*kw), in the type of the inputs.
torch::Tensor window_weight_gradient(const torch::Tensor& image, const torch::Tensor& features, FrameWindow window);

}  // namespace cdae::model
