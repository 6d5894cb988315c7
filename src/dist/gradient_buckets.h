// Gradients summed across ranks in a few large flat buffers rather than one
// collective per parameter (Horovod's fusion buffers, DDP's buckets).
//
// Each parameter's .grad is made a view into its bucket, so backward
// accumulates straight into the buffers and nothing is packed or unpacked;
// the optimizer reads the summed gradients through the same views.
//
// With overlap_with_backward(), a bucket's sum starts during backward, as soon
// as autograd has accumulated the last of its gradients (a post hook on each
// parameter's AccumulateGrad node, which runs once per backward however often
// the parameter is used), so communication overlaps the rest of backward.
// Buckets are started strictly in index order on every rank: collectives
// must be issued in the same order everywhere.
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include <torch/csrc/autograd/variable.h>

#include "dist/communicator.h"

namespace cdae::dist {

class GradientBuckets {
 public:
  // Parameters are grouped in reverse order (the order backward produces
  // them) into buckets of at most bucket_bytes (a larger parameter gets a
  // bucket of its own). Buffers live on the parameters' device.
  GradientBuckets(const std::vector<torch::Tensor>& parameters, std::size_t bucket_bytes);

  // Starts each bucket's sum from within backward (see above). `comm` must
  // outlive this object. Backends without asynchronous sums simply sum there.
  void overlap_with_backward(Communicator& comm);

  void zero();                          // zeroes every bucket (= every .grad); call before each backward
  void all_reduce(Communicator& comm);  // after backward: every bucket summed over ranks
  bool all_finite() const;              // one reduction over all buckets

  std::size_t bucket_count() const { return buffers_.size(); }
  const std::vector<torch::Tensor>& buffers() const { return buffers_; }

 private:
  void on_gradient_accumulated(std::size_t bucket);
  void start_ready_buckets();

  std::vector<torch::Tensor> parameters_;
  std::vector<std::size_t> bucket_of_;  // per parameter
  std::vector<torch::Tensor> buffers_;
  std::vector<int> size_;               // parameters per bucket
  // Per backward pass:
  std::vector<int> waiting_;            // gradients not yet accumulated, per bucket
  std::size_t next_to_start_ = 0;
  std::vector<std::unique_ptr<PendingSum>> pending_;
  Communicator* overlap_comm_ = nullptr;
  // The handle grad_accumulator() returns: a std::shared_ptr in older
  // LibTorch, a c10::intrusive_ptr in 2.15; either keeps the hooked node alive.
  using AccumulatorHandle = decltype(torch::autograd::impl::grad_accumulator(std::declval<const torch::Tensor&>()));
  std::vector<AccumulatorHandle> accumulators_;
};

}  // namespace cdae::dist
