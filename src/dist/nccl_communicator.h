// NCCL for CUDA tensors, one GPU per rank. The unique id is broadcast over
// MPI, host-side control data goes over MPI, and collectives run on NCCL's own
// stream, ordered after the compute stream by an event and back again, so the
// compute stream never waits on the host.
#pragma once
#include <mpi.h>
#include <nccl.h>

#include <c10/cuda/CUDAStream.h>

#include "dist/communicator.h"
#include "dist/mpi_communicator.h"

namespace cdae::dist {

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(MPI_Comm comm, torch::Device device);
  ~NcclCommunicator() override;
  int rank() const override { return mpi_.rank(); }
  int size() const override { return mpi_.size(); }
  std::string name() const override { return "nccl"; }
  void all_reduce_sum(torch::Tensor& tensor) override;
  std::unique_ptr<PendingSum> start_all_reduce_sum(torch::Tensor& tensor) override;
  torch::Tensor all_gather_rows(const torch::Tensor& local, const std::vector<std::int64_t>& rows) override;
  void broadcast(torch::Tensor& tensor, int root) override;
  void broadcast_string(std::string& text, int root) override { mpi_.broadcast_string(text, root); }
  void barrier() override;

 private:
  // Makes the NCCL stream wait for the compute stream, and the reverse.
  void nccl_waits_for_compute();
  void compute_waits_for_nccl();

  MpiCommunicator mpi_;
  torch::Device device_;
  ncclComm_t comm_ = nullptr;
  c10::cuda::CUDAStream stream_;
};

}  // namespace cdae::dist
