// A channels-last (NDHWC) tensor copied into NCDHW, a tile at a time. On the
// AVX-512 CPUs of docs/performance.md oneDNN computes the backward-data of a
// 5x5x5 convolution in channels-last even for NCDHW tensors, and ATen copies
// the result back with a strided copy that runs at ~0.3 GB/s under two ranks:
// 4 s per copy of the seed's 1.2 GB activation. Per sample this is a (pixels x
// channels) -> (channels x pixels) transpose; tiles of 64 pixels x 16 channels
// keep both sides in cache lines.
#pragma once
#include <torch/torch.h>

namespace cdae::model {

// t: 5-D, channels-last 3-D; returns its values in a fresh NCDHW tensor.
// Other layouts, devices or types: t.contiguous().
torch::Tensor ncdhw_from_channels_last(const torch::Tensor& t);

}  // namespace cdae::model
