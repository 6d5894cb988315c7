// NCCL for CUDA tensors, one GPU per rank. The unique id is broadcast over
// MPI, host-side control data goes over MPI, and collectives run on NCCL's own
// stream, ordered after the compute stream by an event and back again, so the
// compute stream never waits on the host.
//
// Written against the stable APIs only (nccl.h, c10::Event, c10::cuda
// streams and guards): nothing from ATen/cuda, whose CUDAContext.h needs the
// cuBLAS/cuSPARSE/cuSOLVER headers of a full CUDA toolkit.
#pragma once
#include <mpi.h>
#include <nccl.h>

#include <c10/core/Event.h>
#include <c10/cuda/CUDAStream.h>

#include "dist/communicator.h"
#include "dist/mpi_communicator.h"

namespace cdae::dist {

class NcclCommunicator : public Communicator {
 public:
  // Collective over `comm`; `device` must be this rank's own GPU (NCCL
  // refuses two ranks of one communicator on one GPU). timeout_s watches the
  // host-side MPI calls (MpiCommunicator), not the NCCL kernels.
  NcclCommunicator(MPI_Comm comm, torch::Device device, double timeout_s = 0);
  // ncclCommDestroy normally; ncclCommAbort while an exception unwinds the
  // stack (see the definition).
  ~NcclCommunicator() override;
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;

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
  // Makes the NCCL stream wait for the calling thread's current stream on
  // this device, and the reverse. Each record() makes a new version of the
  // event, so the two events are reused for every call.
  void nccl_waits_for_compute();
  void compute_waits_for_nccl();
  // Throws with NCCL's own explanation (ncclGetLastError) when rc != ncclSuccess.
  void check(ncclResult_t rc, const char* what) const;
  // Throws if NCCL has recorded an error of an operation already under way.
  void check_async_error() const;

  MpiCommunicator mpi_;
  torch::Device device_;
  ncclComm_t comm_ = nullptr;
  c10::cuda::CUDAStream stream_;
  c10::Event compute_ready_{c10::DeviceType::CUDA};
  c10::Event nccl_done_{c10::DeviceType::CUDA};
};

}  // namespace cdae::dist
