#include "dist/nccl_communicator.h"

#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAGuard.h>

#include <stdexcept>

namespace cdae::dist {

namespace {

void check_nccl(ncclResult_t rc, const char* what) {
  if (rc != ncclSuccess) throw std::runtime_error(std::string(what) + " failed: " + ncclGetErrorString(rc));
}

ncclDataType_t nccl_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kInt64: return ncclInt64;
    case torch::kUInt8: return ncclUint8;
    case torch::kBFloat16: return ncclBfloat16;
    default: throw std::invalid_argument("NCCL communicator: unsupported dtype");
  }
}

}  // namespace

NcclCommunicator::NcclCommunicator(MPI_Comm comm, torch::Device device)
    : mpi_(comm), device_(device), stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device.index())) {
  c10::cuda::CUDAGuard guard(device_);
  ncclUniqueId id;
  if (mpi_.rank() == 0) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId");
  check_mpi(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi_.comm()), "MPI_Bcast(ncclUniqueId)");
  check_nccl(ncclCommInitRank(&comm_, mpi_.size(), id, mpi_.rank()), "ncclCommInitRank");
}

NcclCommunicator::~NcclCommunicator() {
  if (comm_) ncclCommDestroy(comm_);
}

void NcclCommunicator::nccl_waits_for_compute() {
  at::cuda::CUDAEvent ready;
  ready.record(c10::cuda::getCurrentCUDAStream(device_.index()));
  ready.block(stream_);
}

void NcclCommunicator::compute_waits_for_nccl() {
  at::cuda::CUDAEvent done;
  done.record(stream_);
  done.block(c10::cuda::getCurrentCUDAStream(device_.index()));
}

void NcclCommunicator::all_reduce_sum(torch::Tensor& tensor) { start_all_reduce_sum(tensor)->wait(); }

std::unique_ptr<PendingSum> NcclCommunicator::start_all_reduce_sum(torch::Tensor& tensor) {
  struct Pending : PendingSum {
    NcclCommunicator* self;
    explicit Pending(NcclCommunicator* s) : self(s) {}
    // The host never blocks: the compute stream waits for the NCCL stream.
    void wait() override {
      c10::cuda::CUDAGuard guard(self->device_);
      self->compute_waits_for_nccl();
    }
  };
  if (size() == 1) return std::make_unique<Pending>(this);
  TORCH_CHECK(tensor.is_cuda() && tensor.is_contiguous(), "NCCL all_reduce_sum needs a contiguous CUDA tensor");
  c10::cuda::CUDAGuard guard(device_);
  nccl_waits_for_compute();
  check_nccl(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), nccl_type(tensor), ncclSum, comm_,
                           stream_.stream()),
             "ncclAllReduce");
  // Tensors used on another stream must not be reused by the caching allocator early.
  tensor.record_stream(stream_);
  return std::make_unique<Pending>(this);
}

torch::Tensor NcclCommunicator::all_gather_rows(const torch::Tensor& local, const std::vector<std::int64_t>& rows) {
  if (size() == 1) return local;
  // NCCL has no all-gather-v: pad every contribution to the largest, then drop the padding.
  c10::cuda::CUDAGuard guard(device_);
  const auto max_rows = *std::max_element(rows.begin(), rows.end());
  auto shape = local.sizes().vec();
  shape[0] = max_rows;
  auto padded = torch::zeros(shape, local.options());
  if (local.size(0) > 0) padded.narrow(0, 0, local.size(0)).copy_(local);
  shape[0] = max_rows * size();
  auto gathered = torch::empty(shape, local.options());
  nccl_waits_for_compute();
  check_nccl(ncclAllGather(padded.data_ptr(), gathered.data_ptr(), padded.numel(), nccl_type(local), comm_,
                           stream_.stream()),
             "ncclAllGather");
  padded.record_stream(stream_);
  gathered.record_stream(stream_);
  compute_waits_for_nccl();
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size(); ++r) parts.push_back(gathered.narrow(0, r * max_rows, rows[r]));
  return torch::cat(parts, 0);
}

void NcclCommunicator::broadcast(torch::Tensor& tensor, int root) {
  if (size() == 1) return;
  TORCH_CHECK(tensor.is_cuda() && tensor.is_contiguous(), "NCCL broadcast needs a contiguous CUDA tensor");
  c10::cuda::CUDAGuard guard(device_);
  nccl_waits_for_compute();
  check_nccl(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), tensor.numel(), nccl_type(tensor), root, comm_,
                           stream_.stream()),
             "ncclBroadcast");
  tensor.record_stream(stream_);
  compute_waits_for_nccl();
}

void NcclCommunicator::barrier() {
  stream_.synchronize();
  mpi_.barrier();
}

}  // namespace cdae::dist
