#include "dist/world.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <cstdio>
#include <stdexcept>

#include "dist/mpi_communicator.h"
#include "dist/placement.h"
#ifdef CDAE_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#endif
#ifdef CDAE_WITH_NCCL
#include "dist/nccl_communicator.h"
#endif

namespace cdae::dist {

namespace {

const char* thread_level_name(int level) {
  if (level == MPI_THREAD_SINGLE) return "MPI_THREAD_SINGLE";
  if (level == MPI_THREAD_FUNNELED) return "MPI_THREAD_FUNNELED";
  if (level == MPI_THREAD_SERIALIZED) return "MPI_THREAD_SERIALIZED";
  if (level == MPI_THREAD_MULTIPLE) return "MPI_THREAD_MULTIPLE";
  return "an unknown thread level";
}

}  // namespace

std::string thread_level_shortfall(int provided) {
  // The MPI standard orders the levels: SINGLE < FUNNELED < SERIALIZED < MULTIPLE.
  if (provided >= MPI_THREAD_SERIALIZED) return "";
  return std::string("MPI_Init_thread: this MPI provides ") + thread_level_name(provided) +
         ", but cdae needs MPI_THREAD_SERIALIZED: with CUDA tensors autograd runs backward in its own thread, "
         "which then calls MPI (gradient sums, the latent gather's backward). Use an MPI built with thread "
         "support (Open MPI, MPICH and their vendor builds provide it; for Intel MPI use the release_mt library)";
}

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = MPI_THREAD_SINGLE;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) abort_job("MPI_Init_thread failed");
  // Errors come back as return codes (turned into exceptions) instead of a silent abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  const auto shortfall = thread_level_shortfall(provided);
  if (!shortfall.empty()) abort_job(shortfall);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

namespace {

// The ranks sharing this node's memory (under mpirun, srun and any launcher,
// unlike SLURM_LOCALID / OMPI_COMM_WORLD_LOCAL_RANK, which each exist under one).
MPI_Comm node_communicator() {
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  return node;
}

// The same flag on every rank: true when it is true on every rank.
bool on_every_rank(bool flag) {
  int value = flag ? 1 : 0;
  check_mpi(MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
  return value == 1;
}

bool on_any_rank(bool flag) { return !on_every_rank(!flag); }

// The PCI bus id of each CUDA device this rank sees, in CUDA index order.
std::vector<GpuId> visible_gpus() {
  std::vector<GpuId> ids;
#ifdef CDAE_WITH_CUDA
  const int count = c10::cuda::device_count();
  for (int d = 0; d < count; ++d) {
    char bus_id[64] = {};  // "dddd:bb:dd.f" and a NUL; CUDA documents 13 characters as enough
    const cudaError_t rc = cudaDeviceGetPCIBusId(bus_id, static_cast<int>(sizeof(bus_id)), d);
    if (rc != cudaSuccess)
      throw std::runtime_error("cudaDeviceGetPCIBusId(device " + std::to_string(d) + ") failed: " +
                               cudaGetErrorString(rc));
    ids.emplace_back(bus_id);
  }
#else
  // LibTorch has CUDA but this build's CUDA code is off (CDAE_WITH_CUDA=OFF):
  // no bus ids, so each index stands for itself, which is right when every
  // rank sees the same devices (plain mpirun). Without NCCL nothing else
  // depends on it.
  for (int d = 0; d < static_cast<int>(torch::cuda::device_count()); ++d) ids.push_back("cuda device " + std::to_string(d));
#endif
  return ids;
}

// What this rank found when it looked for GPUs, for the refusals of
// device = "cuda" and dist.backend = "nccl" without one.
std::string gpus_found() {
#ifdef CDAE_WITH_CUDA
  const auto count = torch::cuda::device_count();
  if (count > 0) return std::to_string(count) + " GPU(s) visible";
  std::string text = "no GPU is visible (CUDA device count 0";
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES")) text += std::string(", CUDA_VISIBLE_DEVICES=\"") + visible + "\"";
  return text + "; this build has CUDA)";
#else
  return "this build has no CUDA code (configured with CDAE_WITH_CUDA=OFF)";
#endif
}

// Makes `index` the current CUDA device of this thread before any CUDA work,
// so that no library creates a context (hundreds of MB) on device 0 of every rank.
void make_current(int index) {
#ifdef CDAE_WITH_CUDA
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(index));
#else
  (void)index;
#endif
}

}  // namespace

std::pair<int, int> local_rank_and_size() {
  MPI_Comm node = node_communicator();
  int rank = 0, size = 1;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_size(node, &size);
  MPI_Comm_free(&node);
  return {rank, size};
}

std::vector<std::vector<std::string>> all_gather_lists(MPI_Comm comm, const std::vector<std::string>& mine) {
  // One text per rank, a '\n' after each item; the lengths go first.
  std::string packed;
  for (const auto& item : mine) {
    if (item.find('\n') != std::string::npos) throw std::invalid_argument("all_gather_lists: an item contains '\\n'");
    packed += item + '\n';
  }
  int size = 1;
  MPI_Comm_size(comm, &size);
  std::vector<int> lengths(size), offsets(size);
  int length = static_cast<int>(packed.size());
  check_mpi(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, comm), "MPI_Allgather");
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[r] = total;
    total += lengths[r];
  }
  std::string all(static_cast<std::size_t>(total), '\0');
  check_mpi(MPI_Allgatherv(packed.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, comm),
            "MPI_Allgatherv");
  std::vector<std::vector<std::string>> lists(size);
  for (int r = 0; r < size; ++r) {
    std::size_t begin = offsets[r];
    const std::size_t end = begin + lengths[r];
    while (begin < end) {
      const auto newline = all.find('\n', begin);
      lists[r].push_back(all.substr(begin, newline - begin));
      begin = newline + 1;
    }
  }
  return lists;
}

namespace {

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "?";
  return name;
}

// "3" or "0-1": a run of consecutive ranks.
std::string rank_range(int first, int last) {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

}  // namespace

std::string rank_layout(const std::vector<std::string>& node_of_rank) {
  // Ranges per node, nodes in order of their first rank.
  std::vector<std::pair<std::string, std::vector<std::string>>> nodes;
  const int size = static_cast<int>(node_of_rank.size());
  for (int first = 0; first < size;) {
    int last = first;
    while (last + 1 < size && node_of_rank[last + 1] == node_of_rank[first]) ++last;
    auto node = std::find_if(nodes.begin(), nodes.end(), [&](const auto& n) { return n.first == node_of_rank[first]; });
    if (node == nodes.end()) node = nodes.insert(nodes.end(), {node_of_rank[first], {}});
    node->second.push_back(rank_range(first, last));
    first = last + 1;
  }
  std::string text = size == 1 ? "rank " : "ranks ";
  for (std::size_t n = 0; n < nodes.size(); ++n) {
    if (n > 0) text += ", ";
    for (std::size_t r = 0; r < nodes[n].second.size(); ++r) text += (r > 0 ? "," : "") + nodes[n].second[r];
    text += " on " + nodes[n].first;
  }
  return text;
}

Placement place_this_rank(const std::string& device, const std::string& backend) {
  Placement p;
  MPI_Comm_rank(MPI_COMM_WORLD, &p.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p.world_size);
  for (auto& names : all_gather_lists(MPI_COMM_WORLD, {host_name()})) p.node_of_rank.push_back(names.at(0));
  MPI_Comm node = node_communicator();
  MPI_Comm_rank(node, &p.local_rank);
  MPI_Comm_size(node, &p.local_size);

  const bool has_gpu = torch::cuda::is_available();
  const bool every_rank_has_gpu = on_every_rank(has_gpu);
  const auto found = gpus_found();
  const bool cuda = use_cuda(device, has_gpu, every_rank_has_gpu, found);
  NodeGpus node_gpus;
  if (cuda) node_gpus = all_gather_lists(node, visible_gpus());
  MPI_Comm_free(&node);
#ifdef CDAE_WITH_NCCL
  const bool nccl_built = true;
#else
  const bool nccl_built = false;
#endif
  if (!cuda) {
    std::string why_cpu = "device = \"cpu\"";
    if (device != "cpu")
      why_cpu = has_gpu ? "another rank sees no GPU, so device = \"auto\" chose the CPU" : "this rank: " + found;
    p.backend = choose_backend(backend, false, nccl_built, "", false, why_cpu);
    return p;
  }
  const auto device_of = assign_devices(node_gpus);
  const auto shared_here = shared_gpu_report(node_gpus, device_of);
  p.backend = choose_backend(backend, true, nccl_built, shared_here, on_any_rank(!shared_here.empty()));
  const int index = device_of[p.local_rank];
  make_current(index);
  p.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  return p;
}

std::unique_ptr<Communicator> make_communicator(const Placement& placement, double timeout_s) {
#ifdef CDAE_WITH_NCCL
  if (placement.backend == "nccl")
    return std::make_unique<NcclCommunicator>(MPI_COMM_WORLD, placement.device, timeout_s);
#endif
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD, timeout_s);
}

void abort_job(const std::string& message) {
  int rank = 0, size = 1, initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  const bool mpi_up = initialized && !finalized;
  if (mpi_up) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  // One write: several ranks fail at once and share the launcher's stderr, and
  // piecewise writes of std::cerr interleave (the message lost its prefix).
  const std::string line = "cdae: error on rank " + std::to_string(rank) + ": " + message + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  // Alone, a plain exit says it all; with other ranks, MPI_Abort ends them too.
  if (mpi_up && size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
  if (mpi_up) MPI_Finalize();
  std::exit(1);
}

}  // namespace cdae::dist
