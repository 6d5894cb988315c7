#include "data/rotation_sequences.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>

#include "model/target_clones.h"

namespace cdae::data {

std::pair<double, double> cos_sin_degrees(double degrees) {
  const double turns = degrees / 90.0;
  if (turns == std::floor(turns)) {
    switch (((static_cast<long long>(turns) % 4) + 4) % 4) {
      case 0: return {1.0, 0.0};
      case 1: return {0.0, 1.0};
      case 2: return {-1.0, 0.0};
      default: return {0.0, -1.0};
    }
  }
  const double radians = degrees * M_PI / 180.0;
  return {std::cos(radians), std::sin(radians)};
}

RotationSequenceGenerator::RotationSequenceGenerator(const io::GrayImage& image, int channels,
                                                     torch::Device device) {
  const auto h = image.height, w = image.width;
  // clone(): with one channel on the CPU, expand/contiguous/to would all return
  // views of `image`, which the caller may destroy (it is often a temporary).
  auto pixels = torch::from_blob(const_cast<float*>(image.pixels.data()), {1, 1, h, w}, torch::kFloat32).clone();
  image_ = pixels.expand({1, channels, h, w}).contiguous().to(device);
  const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  const double cx = w / 2, cy = h / 2;  // integer centre, as the reference's (w//2, h//2)
  offset_x_ = (torch::arange(w, options) - cx).view({1, w}).expand({h, w});
  offset_y_ = (torch::arange(h, options) - cy).view({h, 1}).expand({h, w});
}

namespace {

// One frame on the CPU: dst (H, W) = the image rotated, the same arithmetic
// as the tensor ops below (source coordinates in float, bilinear weights as
// grid_sample's, zero outside), without their (frames, H, W, 2) grid: those
// ops were 8% of the cpu preset's step, most of it stacking the grid.
// padded: the image inside a zero border, 1 pixel wide at the top and left
// and 2 at the bottom and right, stride w + 3; source coordinates are clamped
// to [-1, w] x [-1, h], where every neighbour read is in the border (or has
// weight 0), so the loop has no branches and vectorises.
CDAE_X86_64_V3_CLONE void rotate_frame(const float* padded, float* __restrict dst, std::int64_t h, std::int64_t w,
                                       float c, float s) {
  const float cx = static_cast<float>(w / 2), cy = static_cast<float>(h / 2);
  const std::int64_t stride = w + 3;
  const float* origin = padded + stride + 1;  // pixel (0, 0)
  for (std::int64_t y = 0; y < h; ++y) {
    const float oy = static_cast<float>(y) - cy;
    for (std::int64_t x = 0; x < w; ++x) {
      const float ox = static_cast<float>(x) - cx;
      const float sx = std::clamp(c * ox - s * oy + cx, -1.f, static_cast<float>(w));
      const float sy = std::clamp(s * ox + c * oy + cy, -1.f, static_cast<float>(h));
      const float fx = std::floor(sx), fy = std::floor(sy);
      const float ex = sx - fx, ey = sy - fy;  // weights of the far neighbours
      const float* p = origin + static_cast<std::int32_t>(fy) * stride + static_cast<std::int32_t>(fx);
      dst[y * w + x] = (p[0] * (1 - ex) + p[1] * ex) * (1 - ey) + (p[stride] * (1 - ex) + p[stride + 1] * ex) * ey;
    }
  }
}

}  // namespace

torch::Tensor RotationSequenceGenerator::generate(const std::vector<double>& angles_deg, std::int64_t n,
                                                  int seqlen) const {
  const auto frames = n * seqlen;
  const std::int64_t h = height(), w = width(), channels = image_.size(1);
  if (frames == 0) return torch::zeros({0, channels, seqlen, h, w}, image_.options());
  std::vector<float> cos_sin(frames * 2);
  for (std::int64_t f = 0; f < frames; ++f) {
    const auto [c, s] = cos_sin_degrees(angles_deg[f]);
    cos_sin[2 * f] = static_cast<float>(c);
    cos_sin[2 * f + 1] = static_cast<float>(s);
  }
  if (image_.is_cpu()) {
    // Straight into (n, C, seqlen, H, W): frame (k, i) of channel ch.
    auto out = torch::empty({n, channels, seqlen, h, w}, image_.options());
    const auto padded = torch::constant_pad_nd(image_, {1, 2, 1, 2}).contiguous();  // (1, C, H + 3, W + 3)
    const float* src = padded.data_ptr<float>();
    float* dst = out.data_ptr<float>();
    at::parallel_for(0, n * channels * seqlen, 1, [&](std::int64_t begin, std::int64_t end) {
      for (auto j = begin; j < end; ++j) {
        const auto k = j / (channels * seqlen), ch = (j / seqlen) % channels, f = k * seqlen + j % seqlen;
        rotate_frame(src + ch * (h + 3) * (w + 3), dst + j * h * w, h, w, cos_sin[2 * f], cos_sin[2 * f + 1]);
      }
    });
    return out;
  }
  const auto cs = torch::from_blob(cos_sin.data(), {frames, 2, 1, 1}, torch::kFloat32).to(image_.device());
  const auto c = cs.select(1, 0), s = cs.select(1, 1);  // (frames, 1, 1)
  // Source pixel of each destination pixel: the inverse rotation about the centre.
  const double cx = w / 2, cy = h / 2;
  const auto src_x = c * offset_x_ - s * offset_y_ + cx;
  const auto src_y = s * offset_x_ + c * offset_y_ + cy;
  // grid_sample wants [-1, 1] with -1/+1 at the centres of the edge pixels (align_corners).
  const auto grid = torch::stack({src_x * (2.0 / (w - 1)) - 1.0, src_y * (2.0 / (h - 1)) - 1.0}, 3);
  namespace F = torch::nn::functional;
  const auto rotated = F::grid_sample(image_.expand({frames, channels, h, w}), grid,
                                      F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kZeros)
                                          .align_corners(true));
  return rotated.view({n, seqlen, channels, h, w}).permute({0, 2, 1, 3, 4}).contiguous();
}

}  // namespace cdae::data
