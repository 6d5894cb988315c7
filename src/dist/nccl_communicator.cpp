#include "dist/nccl_communicator.h"

#include <c10/cuda/CUDAGuard.h>

#include <algorithm>
#include <exception>
#include <stdexcept>

namespace cdae::dist {

namespace {

ncclDataType_t nccl_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return ncclFloat32;
    case torch::kFloat64: return ncclFloat64;
    case torch::kFloat16: return ncclFloat16;
    case torch::kBFloat16: return ncclBfloat16;
    case torch::kInt32: return ncclInt32;
    case torch::kInt64: return ncclInt64;
    case torch::kUInt8: return ncclUint8;
    default:
      throw std::invalid_argument("NCCL communicator: unsupported dtype " + std::string(toString(t.scalar_type())));
  }
}

void check_cuda_tensor(const torch::Tensor& t, torch::Device device, const char* what) {
  TORCH_CHECK(t.is_cuda() && t.device() == device && t.is_contiguous(), "NCCL ", what,
              " needs a contiguous tensor on ", device.str(), ", got ", (t.is_contiguous() ? "" : "a non-contiguous "),
              "tensor on ", t.device().str());
}

}  // namespace

void NcclCommunicator::check(ncclResult_t rc, const char* what) const {
  if (rc == ncclSuccess) return;
  // ncclGetLastError ignores its argument (NCCL keeps one last error); it
  // carries the detail, e.g. "Duplicate GPU detected : rank 1 and rank 0 both on CUDA device 1b000".
  const char* detail = ncclGetLastError(comm_);
  throw std::runtime_error(std::string(what) + " failed: " + ncclGetErrorString(rc) +
                           (detail && *detail ? std::string(": ") + detail : std::string()) +
                           " (NCCL_DEBUG=WARN prints more)");
}

void NcclCommunicator::check_async_error() const {
  ncclResult_t state = ncclSuccess;
  check(ncclCommGetAsyncError(comm_, &state), "ncclCommGetAsyncError");
  // ncclInProgress only says that a non-blocking communicator is still busy.
  if (state != ncclInProgress) check(state, "an NCCL operation under way");
}

NcclCommunicator::NcclCommunicator(MPI_Comm comm, torch::Device device, double timeout_s)
    : mpi_(comm, timeout_s), device_(device), stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device.index())) {
  TORCH_CHECK(device.is_cuda() && device.has_index(), "NCCL communicator needs a CUDA device with an index");
  c10::cuda::CUDAGuard guard(device_);  // NCCL binds the communicator to the current device
  ncclUniqueId id;
  if (mpi_.rank() == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
  check_mpi(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, mpi_.comm()), "MPI_Bcast(ncclUniqueId)");
  ncclComm_t created = nullptr;
  check(ncclCommInitRank(&created, mpi_.size(), id, mpi_.rank()), "ncclCommInitRank");
  comm_ = created;
}

NcclCommunicator::~NcclCommunicator() {
  if (!comm_) return;
  // While an exception unwinds the stack on its way to abort_job (and
  // MPI_Abort), a collective of this rank may wait for ranks that will never
  // join it. ncclCommDestroy would wait for it forever and the job would
  // hang instead of ending; ncclCommAbort stops it. A destructor must not
  // throw, so the results are not checked.
  if (std::uncaught_exceptions() > 0)
    ncclCommAbort(comm_);
  else
    ncclCommDestroy(comm_);
}

void NcclCommunicator::nccl_waits_for_compute() {
  compute_ready_.record(c10::cuda::getCurrentCUDAStream(device_.index()));
  compute_ready_.block(stream_);
}

void NcclCommunicator::compute_waits_for_nccl() {
  nccl_done_.record(stream_);
  nccl_done_.block(c10::cuda::getCurrentCUDAStream(device_.index()));
}

void NcclCommunicator::all_reduce_sum(torch::Tensor& tensor) { start_all_reduce_sum(tensor)->wait(); }

std::unique_ptr<PendingSum> NcclCommunicator::start_all_reduce_sum(torch::Tensor& tensor) {
  struct Pending : PendingSum {
    NcclCommunicator& self;
    explicit Pending(NcclCommunicator& s) : self(s) {}
    // The host never blocks: the compute stream waits for the NCCL stream.
    void wait() override {
      c10::cuda::CUDAGuard guard(self.device_);
      self.check_async_error();
      self.compute_waits_for_nccl();
    }
  };
  check_cuda_tensor(tensor, device_, "all_reduce_sum");
  c10::cuda::CUDAGuard guard(device_);
  if (tensor.numel() > 0) {
    nccl_waits_for_compute();
    check(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()), nccl_type(tensor),
                        ncclSum, comm_, stream_.stream()),
          "ncclAllReduce");
    // The caching allocator must not hand this memory to the compute stream
    // while NCCL may still write it (the caller could drop the tensor first).
    tensor.record_stream(stream_);
  }
  return std::make_unique<Pending>(*this);
}

torch::Tensor NcclCommunicator::all_gather_rows(const torch::Tensor& local, const std::vector<std::int64_t>& rows) {
  TORCH_CHECK(static_cast<int>(rows.size()) == size(), "all_gather_rows: one row count per rank");
  TORCH_CHECK(local.dim() >= 1 && local.size(0) == rows[rank()], "all_gather_rows: local rows differ from rows[rank]");
  check_cuda_tensor(local, device_, "all_gather_rows");
  c10::cuda::CUDAGuard guard(device_);
  const auto max_rows = *std::max_element(rows.begin(), rows.end());
  std::int64_t total_rows = 0;
  for (auto r : rows) total_rows += r;
  auto shape = local.sizes().vec();
  shape[0] = max_rows * size();
  auto gathered = torch::empty(shape, local.options());
  if (gathered.numel() > 0) {
    // NCCL has no all-gather-v: every rank sends max_rows rows (its own,
    // then zeros), and the padding is dropped below.
    auto padded = local;
    if (local.size(0) < max_rows) {
      shape[0] = max_rows;
      padded = torch::zeros(shape, local.options());
      padded.narrow(0, 0, local.size(0)).copy_(local);
    }
    nccl_waits_for_compute();
    check(ncclAllGather(padded.data_ptr(), gathered.data_ptr(), static_cast<size_t>(padded.numel()), nccl_type(local),
                        comm_, stream_.stream()),
          "ncclAllGather");
    padded.record_stream(stream_);
    gathered.record_stream(stream_);
    compute_waits_for_nccl();
  }
  if (total_rows == max_rows * size()) return gathered;
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < size(); ++r) parts.push_back(gathered.narrow(0, r * max_rows, rows[r]));
  return torch::cat(parts, 0);
}

void NcclCommunicator::broadcast(torch::Tensor& tensor, int root) {
  check_cuda_tensor(tensor, device_, "broadcast");
  TORCH_CHECK(root >= 0 && root < size(), "broadcast: root ", root, " is not a rank");
  c10::cuda::CUDAGuard guard(device_);
  if (tensor.numel() == 0) return;
  nccl_waits_for_compute();
  check(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(), static_cast<size_t>(tensor.numel()), nccl_type(tensor),
                      root, comm_, stream_.stream()),
        "ncclBroadcast");
  tensor.record_stream(stream_);
  compute_waits_for_nccl();
}

void NcclCommunicator::barrier() {
  stream_.synchronize();
  check_async_error();
  mpi_.barrier();
}

}  // namespace cdae::dist
