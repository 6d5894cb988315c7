#include "dist/mpi_communicator.h"

#include <stdexcept>

namespace cdae::dist {

void check_mpi(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string(what) + " failed: " + std::string(text, len));
}

namespace {

MPI_Datatype mpi_type(const torch::Tensor& t) {
  switch (t.scalar_type()) {
    case torch::kFloat32: return MPI_FLOAT;
    case torch::kFloat64: return MPI_DOUBLE;
    case torch::kInt64: return MPI_INT64_T;
    case torch::kUInt8: return MPI_UINT8_T;
    default: throw std::invalid_argument("MPI communicator: unsupported dtype " + std::string(toString(t.scalar_type())));
  }
}

int as_count(std::int64_t n) {
  if (n > INT32_MAX) throw std::runtime_error("MPI communicator: message of " + std::to_string(n) + " elements is too large");
  return static_cast<int>(n);
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm, double timeout_s, CollectiveWatchdog::Expiry on_expiry)
    : comm_(comm) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
  // Alone, no call ever waits for another rank.
  if (size_ > 1 && timeout_s > 0)
    watchdog_ = std::make_unique<CollectiveWatchdog>(timeout_s, describe_rank(rank_), std::move(on_expiry));
}

torch::Tensor MpiCommunicator::pinned_buffer(Staging role, torch::IntArrayRef shape, torch::ScalarType dtype) {
  std::int64_t numel = 1;
  for (auto n : shape) numel *= n;
  const std::int64_t bytes = numel * static_cast<std::int64_t>(c10::elementSize(dtype));
  // Sizes come from the buckets and a few per-batch tensors; a live config
  // change of the batch sizes adds new ones, so the cache is bounded.
  constexpr std::size_t max_buffers = 64;
  if (pinned_.size() >= max_buffers && pinned_.find({role, bytes}) == pinned_.end()) pinned_.clear();
  auto& buffer = pinned_[{role, bytes}];
  if (!buffer.defined())
    buffer = torch::empty({bytes}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
  return buffer.view(dtype).view(shape);
}

torch::Tensor MpiCommunicator::to_host(const torch::Tensor& tensor) {
  if (tensor.device().is_cpu()) return tensor.contiguous();
  // A blocking copy: it waits for the kernels that produce `tensor` and
  // leaves the data in host memory before MPI reads it.
  auto host = pinned_buffer(Staging::send, tensor.sizes(), tensor.scalar_type());
  host.copy_(tensor, /*non_blocking=*/false);
  return host;
}

void MpiCommunicator::all_reduce_sum(torch::Tensor& tensor) {
  if (size_ == 1) return;
  TORCH_CHECK(tensor.is_contiguous(), "all_reduce_sum needs a contiguous tensor");
  auto host = to_host(tensor);
  const auto armed = watch("MPI_Allreduce");
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, host.data_ptr(), as_count(host.numel()), mpi_type(host), MPI_SUM, comm_),
            "MPI_Allreduce");
  if (!tensor.device().is_cpu()) tensor.copy_(host, /*non_blocking=*/false);  // blocking: `host` is reused
}

std::unique_ptr<PendingSum> MpiCommunicator::start_all_reduce_sum(torch::Tensor& tensor) {
  // CUDA tensors are staged through host memory, which is a blocking copy anyway.
  if (size_ == 1 || !tensor.device().is_cpu()) return Communicator::start_all_reduce_sum(tensor);
  TORCH_CHECK(tensor.is_contiguous(), "start_all_reduce_sum needs a contiguous tensor");
  // Only the wait blocks: the watchdog runs from there, not from the start.
  struct Request : PendingSum {
    MpiCommunicator* self = nullptr;
    MPI_Request request = MPI_REQUEST_NULL;
    torch::Tensor keep_alive;
    void wait() override {
      const auto armed = self->watch("MPI_Wait(MPI_Iallreduce)");
      check_mpi(MPI_Wait(&request, MPI_STATUS_IGNORE), "MPI_Wait(MPI_Iallreduce)");
    }
  };
  auto pending = std::make_unique<Request>();
  pending->self = this;
  pending->keep_alive = tensor;
  check_mpi(MPI_Iallreduce(MPI_IN_PLACE, tensor.data_ptr(), as_count(tensor.numel()), mpi_type(tensor), MPI_SUM, comm_,
                           &pending->request),
            "MPI_Iallreduce");
  return pending;
}

torch::Tensor MpiCommunicator::all_gather_rows(const torch::Tensor& local, const std::vector<std::int64_t>& rows) {
  TORCH_CHECK(static_cast<int>(rows.size()) == size_, "all_gather_rows: one row count per rank");
  TORCH_CHECK(local.size(0) == rows[rank_], "all_gather_rows: local rows differ from rows[rank]");
  if (size_ == 1) return local;
  const auto host = to_host(local);
  std::int64_t per_row = 1;
  for (int d = 1; d < local.dim(); ++d) per_row *= local.size(d);
  std::vector<int> counts(size_), displs(size_);
  std::int64_t total_rows = 0;
  for (int r = 0; r < size_; ++r) {
    counts[r] = as_count(rows[r] * per_row);
    displs[r] = as_count(total_rows * per_row);
    total_rows += rows[r];
  }
  auto shape = local.sizes().vec();
  shape[0] = total_rows;
  const bool on_cpu = local.device().is_cpu();
  auto gathered = on_cpu ? torch::empty(shape, host.options()) : pinned_buffer(Staging::receive, shape, host.scalar_type());
  const auto armed = watch("MPI_Allgatherv");
  check_mpi(MPI_Allgatherv(host.data_ptr(), counts[rank_], mpi_type(host), gathered.data_ptr(), counts.data(),
                           displs.data(), mpi_type(host), comm_),
            "MPI_Allgatherv");
  if (on_cpu) return gathered;
  // The pinned buffer is reused by the next call: the result is a device tensor of its own.
  auto result = torch::empty(shape, local.options());
  result.copy_(gathered, /*non_blocking=*/false);
  return result;
}

void MpiCommunicator::broadcast(torch::Tensor& tensor, int root) {
  if (size_ == 1) return;
  TORCH_CHECK(tensor.is_contiguous(), "broadcast needs a contiguous tensor");
  auto host = to_host(tensor);
  const auto armed = watch("MPI_Bcast");
  check_mpi(MPI_Bcast(host.data_ptr(), as_count(host.numel()), mpi_type(host), root, comm_), "MPI_Bcast");
  if (!tensor.device().is_cpu()) tensor.copy_(host, /*non_blocking=*/false);  // blocking: `host` is reused
}

void MpiCommunicator::broadcast_string(std::string& text, int root) {
  if (size_ == 1) return;
  std::int64_t length = static_cast<std::int64_t>(text.size());
  const auto armed = watch("MPI_Bcast(string)");
  check_mpi(MPI_Bcast(&length, 1, MPI_INT64_T, root, comm_), "MPI_Bcast");
  text.resize(static_cast<size_t>(length));
  check_mpi(MPI_Bcast(text.data(), as_count(length), MPI_CHAR, root, comm_), "MPI_Bcast");
}

void MpiCommunicator::barrier() {
  if (size_ == 1) return;
  const auto armed = watch("MPI_Barrier");
  check_mpi(MPI_Barrier(comm_), "MPI_Barrier");
}

}  // namespace cdae::dist
