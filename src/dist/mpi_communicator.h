// The communicator over MPI: CPU tensors directly, CUDA tensors staged
// through pinned host memory. Every blocking call is watched: one that has
// not completed after `timeout_s` ends the job (see collective_watchdog.h).
#pragma once
#include <map>
#include <memory>
#include <utility>

#include <mpi.h>

#include "dist/collective_watchdog.h"
#include "dist/communicator.h"

namespace cdae::dist {

class MpiCommunicator : public Communicator {
 public:
  // comm: MPI_COMM_WORLD, or MPI_COMM_SELF for a world of one. timeout_s:
  // dist.timeout_s, the longest a collective may wait for the other ranks;
  // 0 waits for ever. on_expiry: what happens then (tests record it).
  explicit MpiCommunicator(MPI_Comm comm, double timeout_s = 0,
                           CollectiveWatchdog::Expiry on_expiry = end_job_from_watchdog);
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
  double timeout_s() const { return watchdog_ ? watchdog_->timeout_s() : 0; }

 private:
  // Arms the watchdog for the blocking call that follows, until it returns.
  CollectiveWatchdog::Armed watch(const char* collective) { return {watchdog_.get(), collective}; }

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
  std::unique_ptr<CollectiveWatchdog> watchdog_;  // null for a world of one or timeout_s = 0
};

// Throws std::runtime_error with MPI's error string when rc != MPI_SUCCESS.
void check_mpi(int rc, const char* what);

}  // namespace cdae::dist
