#pragma once
#include <map>
#include <utility>

#include <mpi.h>

#include "dist/communicator.h"

namespace cdae::dist {

class MpiCommunicator : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm);  // MPI_COMM_WORLD, or MPI_COMM_SELF for a world of one
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }
  void all_reduce_sum(torch::Tensor& tensor) override;
  std::unique_ptr<PendingSum> start_all_reduce_sum(torch::Tensor& tensor) override;
  torch::Tensor all_gather_rows(const torch::Tensor& local, const std::vector<std::int64_t>& rows) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  void broadcast_string(std::string& text, int root) override;
  void barrier() override;
  MPI_Comm comm() const { return comm_; }

 private:
  // MPI reads and writes host memory: a CUDA tensor is copied into a pinned
  // host buffer (DMA at full speed, no bounce through pageable memory) and
  // back. Buffers are kept per (role, size in bytes), so each gradient bucket,
  // whose size never changes, gets its pinned buffer once. The copies block,
  // so a buffer is free again when a call returns.
  enum class Staging { send, receive };
  torch::Tensor pinned_buffer(Staging role, torch::IntArrayRef shape, torch::ScalarType dtype);
  torch::Tensor to_host(const torch::Tensor& tensor);  // the tensor itself on the CPU, else a pinned copy

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::map<std::pair<Staging, std::int64_t>, torch::Tensor> pinned_;
};

// Throws std::runtime_error with MPI's error string when rc != MPI_SUCCESS.
void check_mpi(int rc, const char* what);

}  // namespace cdae::dist
