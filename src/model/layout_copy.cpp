#include "model/layout_copy.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>

namespace cdae::model {

namespace {

// src (pixels, channels) row-major -> dst (channels, pixels) row-major.
template <typename T>
void transpose_sample(const T* __restrict src, T* __restrict dst, std::int64_t pixels, std::int64_t channels) {
  constexpr std::int64_t kTilePixels = 64, kTileChannels = 16;
  for (std::int64_t p0 = 0; p0 < pixels; p0 += kTilePixels) {
    const auto p1 = std::min(p0 + kTilePixels, pixels);
    for (std::int64_t c0 = 0; c0 < channels; c0 += kTileChannels) {
      const auto c1 = std::min(c0 + kTileChannels, channels);
      for (std::int64_t c = c0; c < c1; ++c)
        for (std::int64_t p = p0; p < p1; ++p) dst[c * pixels + p] = src[p * channels + c];
    }
  }
}

}  // namespace

torch::Tensor ncdhw_from_channels_last(const torch::Tensor& t) {
  if (t.dim() != 5 || !t.is_cpu() || t.is_contiguous() ||
      !t.is_contiguous(torch::MemoryFormat::ChannelsLast3d) ||
      (t.scalar_type() != torch::kFloat && t.scalar_type() != torch::kDouble &&
       t.scalar_type() != torch::kBFloat16))
    return t.contiguous();
  auto out = torch::empty(t.sizes(), t.options().memory_format(torch::MemoryFormat::Contiguous));
  const auto n = t.size(0), c = t.size(1), pixels = t.size(2) * t.size(3) * t.size(4);
  AT_DISPATCH_FLOATING_TYPES_AND(at::ScalarType::BFloat16, t.scalar_type(), "ncdhw_from_channels_last", [&] {
    const auto* src = t.data_ptr<scalar_t>();
    auto* dst = out.data_ptr<scalar_t>();
    at::parallel_for(0, n, 1, [&](std::int64_t begin, std::int64_t end) {
      for (auto i = begin; i < end; ++i) transpose_sample(src + i * c * pixels, dst + i * c * pixels, pixels, c);
    });
  });
  return out;
}

}  // namespace cdae::model
