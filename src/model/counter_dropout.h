// Dropout whose mask is a hash of each element's index and one 64-bit key, not
// a stream of draws. On CPUs ATen's bernoulli_ draws element by element from
// one Mersenne Twister unless MKL's Intel-only path applies: 9.9% of the seed
// model's step on this project's AMD machine (docs/performance.md), for the
// 1.2 GB activation behind the first convolution. Here:
//  - the key is one draw from LibTorch's default generator, so masks stay a pure
//    function of (seed, epoch, rank) like every other random choice of a step;
//  - no mask is stored: the backward pass recomputes it from the key (1.2 GB less
//    at the seed's batch), and forward and backward are one pass each;
//  - element i is kept when hash(i, key) >= p * 2^32, so the same key gives the
//    same mask whatever the thread count.
// On a GPU the layer is torch::dropout (its fused kernel is not the bottleneck).
#pragma once
#include <cstdint>

#include <torch/torch.h>

namespace cdae::model {

// x * mask / (1 - p), the mask over x's elements in logical row-major order:
// the same mask whatever the layout. A channels-last 5-D x is masked in place
// in its layout and the result is channels-last; any other x is made contiguous.
torch::Tensor counter_dropout_mask_apply(const torch::Tensor& x, double p, std::uint64_t key);

// The mask bits themselves: keep[j] = element index + j * stride of the logical
// order is kept, for j < n (1 kept, 0 dropped).
void counter_dropout_keep_mask(std::uint8_t* keep, std::int64_t n, std::uint64_t index, std::uint64_t stride,
                               std::uint64_t key, std::uint32_t threshold);

struct CounterDropoutImpl : torch::nn::Module {
  explicit CounterDropoutImpl(double p);
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;
  double p;
};
TORCH_MODULE(CounterDropout);

}  // namespace cdae::model
