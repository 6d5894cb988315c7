#pragma once
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
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

// Throws std::runtime_error with MPI's error string when rc != MPI_SUCCESS.
void check_mpi(int rc, const char* what);

}  // namespace cdae::dist
