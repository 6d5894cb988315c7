// The one interface the trainer uses to talk to other ranks. Two
// implementations: MpiCommunicator (CPU tensors; CUDA tensors staged through
// pinned host memory, so several ranks may share a GPU) and NcclCommunicator
// (CUDA tensors, one GPU per rank). All calls are collective: every rank must
// make the same calls in the same order.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace cdae::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string name() const = 0;

  // In place, on a contiguous tensor of float32, float64 or int64.
  virtual void all_reduce_sum(torch::Tensor& tensor) = 0;
  // Concatenation along dim 0 of every rank's `local`, in rank order;
  // rows[r] is the number of rows rank r contributes (may be 0).
  virtual torch::Tensor all_gather_rows(const torch::Tensor& local, const std::vector<std::int64_t>& rows) = 0;
  virtual void broadcast(torch::Tensor& tensor, int root) = 0;
  // Host-side control data (config text, messages).
  virtual void broadcast_string(std::string& text, int root) = 0;
  virtual void barrier() = 0;
};

}  // namespace cdae::dist
