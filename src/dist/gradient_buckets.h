// Gradients summed across ranks in a few large flat buffers rather than one
// collective per parameter (Horovod's fusion buffers, DDP's buckets).
//
// Each parameter's .grad is made a view into its bucket, so backward
// accumulates straight into the buffers and nothing is packed or unpacked:
// after backward, one all-reduce per bucket, and the optimizer reads the
// summed gradients through the same views.
#pragma once
#include <vector>

#include "dist/communicator.h"

namespace cdae::dist {

class GradientBuckets {
 public:
  // Parameters are grouped in reverse order (the order backward produces
  // them) into buckets of at most bucket_bytes (a larger parameter gets a
  // bucket of its own). Buffers live on the parameters' device.
  GradientBuckets(const std::vector<torch::Tensor>& parameters, std::size_t bucket_bytes);

  void zero();                        // zeroes every bucket (= every .grad)
  void all_reduce(Communicator& comm);  // sums every bucket over ranks
  bool all_finite() const;            // one reduction over all buckets

  std::size_t bucket_count() const { return buffers_.size(); }
  const std::vector<torch::Tensor>& buffers() const { return buffers_; }

 private:
  std::vector<torch::Tensor> buffers_;
};

}  // namespace cdae::dist
