// The one interface the trainer uses to talk to other ranks. Two
// implementations: MpiCommunicator (CPU tensors; CUDA tensors staged through
// pinned host memory, so several ranks may share a GPU) and NcclCommunicator
// (CUDA tensors, one GPU per rank). All calls are collective: every rank must
// make the same calls in the same order.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace cdae::dist {

// A collective under way; its result is there once wait() returns.
class PendingSum {
 public:
  virtual ~PendingSum() = default;
  virtual void wait() = 0;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;

  // In place, on a contiguous tensor of float32, float64 or int64.
  virtual void all_reduce_sum(torch::Tensor& tensor) = 0;
  // Starts the same sum and returns at once where the backend can (MPI on CPU
  // tensors, NCCL), so it overlaps with what the caller does next; every rank
  // must start its sums in the same order. The default is the blocking sum.
  virtual std::unique_ptr<PendingSum> start_all_reduce_sum(torch::Tensor& tensor);
  // Concatenation along dim 0 of every rank's `local`, in rank order;
  // rows[r] is the number of rows rank r contributes (may be 0).
  virtual torch::Tensor all_gather_rows(const torch::Tensor& local, const std::vector<std::int64_t>& rows) = 0;
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  // Host-side control data (config text, messages).
  virtual void broadcast_string(std::string& text, int root) = 0;
  virtual void barrier() = 0;
};

inline std::unique_ptr<PendingSum> Communicator::start_all_reduce_sum(torch::Tensor& tensor) {
  struct Done : PendingSum {
    void wait() override {}
  };
  all_reduce_sum(tensor);
  return std::make_unique<Done>();
}

}  // namespace cdae::dist
