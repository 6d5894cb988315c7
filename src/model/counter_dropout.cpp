#include "model/counter_dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>

#include <bit>
#include <cmath>
#include <mutex>
#include <stdexcept>

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

// The mask of elements [index, index + n) of a block that does not cross a
// multiple of 2^32 (the high word is one constant). Built twice, AVX2 and
// baseline x86-64, and picked at load time: the wheel's flags are baseline, where
// the 32-bit multiplies do not vectorise.
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void keep_mask(std::uint8_t* keep, std::int64_t n, std::uint64_t index, std::uint64_t key, std::uint32_t threshold) {
  const auto lo = static_cast<std::uint32_t>(index), hi = static_cast<std::uint32_t>(index >> 32);
  const auto k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32) ^ hi;
  for (std::int64_t j = 0; j < n; ++j)
    keep[j] = mix32(mix32((lo + static_cast<std::uint32_t>(j)) ^ k0) ^ k1) >= threshold;
}

template <typename T>
void apply_mask(const T* in, T* out, std::int64_t n, std::uint32_t threshold, double p, std::uint64_t key) {
  using Acc = at::opmath_type<T>;  // float for bf16 and half, else T
  const auto scale = static_cast<Acc>(1.0 / (1.0 - p));
  constexpr std::int64_t block = 4096;  // divides 2^32: no block crosses a high-word change
  at::parallel_for(0, (n + block - 1) / block, 16, [&](std::int64_t first, std::int64_t last) {
    std::uint8_t keep[block];
    for (std::int64_t b = first; b < last; ++b) {
      const auto begin = b * block, count = std::min(block, n - begin);
      keep_mask(keep, count, static_cast<std::uint64_t>(begin), key, threshold);
      const T* src = in + begin;
      T* dst = out + begin;
      for (std::int64_t j = 0; j < count; ++j)
        dst[j] = keep[j] ? static_cast<T>(static_cast<Acc>(src[j]) * scale) : static_cast<T>(0);
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
  const auto in = x.contiguous();
  auto out = torch::empty_like(in, torch::MemoryFormat::Contiguous);
  // Kept when u >= threshold: probability (2^32 - threshold) / 2^32 = 1 - p.
  const auto threshold = static_cast<std::uint32_t>(std::llround(std::ldexp(p, 32)));
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, in.scalar_type(), "counter_dropout", [&] {
    apply_mask(in.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), in.numel(), threshold, p, key);
  });
  return out;
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
