#include "model/counter_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <bit>
#include <cmath>
#include <mutex>
#include <stdexcept>
#include <type_traits>
#include <vector>

namespace cdae::model {

namespace {

// "lowbias32" (C. Wellons' hash prospector): a bijection of 32-bit words with
// good avalanche, in 32-bit lanes.
inline std::uint32_t mix32(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

inline bool kept(std::uint64_t index, std::uint64_t key, std::uint32_t threshold) {
  const auto k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  return mix32(mix32(static_cast<std::uint32_t>(index) ^ k0) ^ k1 ^ static_cast<std::uint32_t>(index >> 32)) >=
         threshold;
}

// The mask of the n elements index, index + stride, ..., which do not cross a
// multiple of 2^32 (the high word is one constant), i.e. kept(index + j * stride).
// Built twice, AVX2 and baseline x86-64, and picked at load time: the wheel's
// flags are baseline, where the 32-bit multiplies do not vectorise.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void keep_mask_run(std::uint8_t* keep, std::int64_t n, std::uint64_t index, std::uint32_t stride, std::uint64_t key,
                   std::uint32_t threshold) {
  const auto lo = static_cast<std::uint32_t>(index), hi = static_cast<std::uint32_t>(index >> 32);
  const auto k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32) ^ hi;
  for (std::int64_t j = 0; j < n; ++j)
    keep[j] = mix32(mix32((lo + static_cast<std::uint32_t>(j) * stride) ^ k0) ^ k1) >= threshold;
}

// kept(index + j * stride) for j < n, by runs that keep one high word.
void keep_mask(std::uint8_t* keep, std::int64_t n, std::uint64_t index, std::uint64_t stride, std::uint64_t key,
               std::uint32_t threshold) {
  const auto last = index + static_cast<std::uint64_t>(n - 1) * stride;
  if (n > 0 && stride < (1ull << 32) && (index >> 32) == (last >> 32)) {
    keep_mask_run(keep, n, index, static_cast<std::uint32_t>(stride), key, threshold);
    return;
  }
  for (std::int64_t j = 0; j < n; ++j) keep[j] = kept(index + static_cast<std::uint64_t>(j) * stride, key, threshold);
}

// dst = src * keep * scale, as torch::dropout computes it (a dropped NaN stays
// NaN). A multiply, not a select, so that the loop vectorises: with the select
// it ran element by element, 1.1 s of the 2.0 s a pass took over the seed's
// 1.2 GB activation. float, the common case, also gets an AVX2 clone.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void scale_kept_float(const float* src, float* dst, const std::uint8_t* keep, std::int64_t n, float scale) {
  for (std::int64_t j = 0; j < n; ++j) dst[j] = src[j] * (static_cast<float>(keep[j]) * scale);
}

template <typename T>
void scale_kept(const T* src, T* dst, const std::uint8_t* keep, std::int64_t n, double p) {
  using Acc = at::opmath_type<T>;  // float for bf16 and half, else T
  const auto scale = static_cast<Acc>(1.0 / (1.0 - p));
  if constexpr (std::is_same_v<T, float>) {
    scale_kept_float(src, dst, keep, n, scale);
  } else {
    for (std::int64_t j = 0; j < n; ++j)
      dst[j] = static_cast<T>(static_cast<Acc>(src[j]) * (static_cast<Acc>(keep[j]) * scale));
  }
}

// Row-major memory: element i of memory is element i of the logical order.
template <typename T>
void apply_mask(const T* in, T* out, std::int64_t n, std::uint32_t threshold, double p, std::uint64_t key) {
  constexpr std::int64_t block = 4096;  // divides 2^32: no block crosses a high-word change
  at::parallel_for(0, (n + block - 1) / block, 16, [&](std::int64_t first, std::int64_t last) {
    std::uint8_t keep[block];
    for (std::int64_t b = first; b < last; ++b) {
      const auto begin = b * block, count = std::min(block, n - begin);
      keep_mask(keep, count, static_cast<std::uint64_t>(begin), 1, key, threshold);
      scale_kept(in + begin, out + begin, keep, count, p);
    }
  });
}

// Channels-last memory (N, S, C), S the T*H*W positions: the C channels of a
// position lie together in memory and S apart in the logical order (N, C, S).
template <typename T>
void apply_mask_channels_last(const T* in, T* out, std::int64_t batch, std::int64_t channels,
                              std::int64_t positions, std::uint32_t threshold, double p, std::uint64_t key) {
  at::parallel_for(0, batch * positions, 64, [&](std::int64_t first, std::int64_t last) {
    std::vector<std::uint8_t> keep(static_cast<std::size_t>(channels));
    for (std::int64_t r = first; r < last; ++r) {
      const auto n = r / positions, s = r % positions;
      const auto logical = static_cast<std::uint64_t>(n * channels * positions + s);
      keep_mask(keep.data(), channels, logical, static_cast<std::uint64_t>(positions), key, threshold);
      scale_kept(in + r * channels, out + r * channels, keep.data(), channels, p);
    }
  });
}

std::uint64_t draw_key() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(generator)->random64();
}

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

struct CounterDropoutFunction : torch::autograd::Function<CounterDropoutFunction> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, double p, std::int64_t key) {
    ctx->saved_data["p"] = p;
    ctx->saved_data["key"] = key;
    return counter_dropout_mask_apply(x, p, std::bit_cast<std::uint64_t>(key));
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    // d(x * m / (1 - p)) / dx = m / (1 - p): the same mask, from the same key.
    const auto key = std::bit_cast<std::uint64_t>(ctx->saved_data["key"].toInt());
    return {counter_dropout_mask_apply(grads[0], ctx->saved_data["p"].toDouble(), key), torch::Tensor(),
            torch::Tensor()};
  }
};

}  // namespace

torch::Tensor counter_dropout_mask_apply(const torch::Tensor& x, double p, std::uint64_t key) {
  if (!(p >= 0.0 && p < 1.0)) throw std::invalid_argument("dropout probability must be in [0, 1), got " + std::to_string(p));
  // Kept when u >= threshold: probability (2^32 - threshold) / 2^32 = 1 - p.
  const auto threshold = static_cast<std::uint32_t>(std::llround(std::ldexp(p, 32)));
  const bool channels_last =
      x.dim() == 5 && !x.is_contiguous() && x.is_contiguous(torch::MemoryFormat::ChannelsLast3d);
  if (channels_last) {  // masked where it lies: no layout copy of the seed's 1.2 GB activation
    auto out = torch::empty_like(x, torch::MemoryFormat::ChannelsLast3d);
    const auto positions = x.size(2) * x.size(3) * x.size(4);
    AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "counter_dropout", [&] {
      apply_mask_channels_last(x.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), x.size(0), x.size(1), positions,
                               threshold, p, key);
    });
    return out;
  }
  const auto in = x.contiguous();
  auto out = torch::empty_like(in, torch::MemoryFormat::Contiguous);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, in.scalar_type(), "counter_dropout", [&] {
    apply_mask(in.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), in.numel(), threshold, p, key);
  });
  return out;
}

void counter_dropout_keep_mask(std::uint8_t* keep, std::int64_t n, std::uint64_t index, std::uint64_t stride,
                               std::uint64_t key, std::uint32_t threshold) {
  keep_mask(keep, n, index, stride, key, threshold);
}

CounterDropoutImpl::CounterDropoutImpl(double probability) : p(probability) {
  if (!(p >= 0.0 && p < 1.0)) throw std::invalid_argument("model.dropout must be in [0, 1), got " + std::to_string(p));
}

torch::Tensor CounterDropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p == 0.0) return x;
  if (!x.device().is_cpu()) return torch::dropout(x, p, /*train=*/true);
  return CounterDropoutFunction::apply(x, p, std::bit_cast<std::int64_t>(draw_key()));
}

void CounterDropoutImpl::pretty_print(std::ostream& stream) const { stream << "cdae::CounterDropout(p=" << p << ")"; }

}  // namespace cdae::model
