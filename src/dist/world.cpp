#include "dist/world.h"

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "dist/mpi_communicator.h"
#ifdef CDAE_WITH_NCCL
#include "dist/nccl_communicator.h"
#endif

namespace cdae::dist {

MpiSession::MpiSession(int* argc, char*** argv) {
  int provided = 0;
  check_mpi(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  // Errors come back as return codes (turned into exceptions) instead of a silent abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::pair<int, int> local_rank_and_size() {
  // A shared-memory split works under mpirun, srun and any launcher, unlike
  // SLURM_LOCALID / OMPI_COMM_WORLD_LOCAL_RANK, which each exist under one.
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  int rank = 0, size = 1;
  MPI_Comm_rank(node, &rank);
  MPI_Comm_size(node, &size);
  MPI_Comm_free(&node);
  return {rank, size};
}

Placement place_this_rank(const std::string& device, const std::string& backend) {
  Placement p;
  MPI_Comm_rank(MPI_COMM_WORLD, &p.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p.world_size);
  std::tie(p.local_rank, p.local_size) = local_rank_and_size();

  const bool cuda_available = torch::cuda::is_available();
  if (device == "cuda" && !cuda_available)
    throw std::runtime_error("config: device = \"cuda\" but no CUDA device is visible (or this build has no CUDA); "
                             "use device = \"cpu\" or \"auto\"");
  const bool use_cuda = device == "cuda" || (device == "auto" && cuda_available);
  if (!use_cuda) {
    if (backend == "nccl") throw std::runtime_error("config: dist.backend = \"nccl\" needs device cuda");
    p.backend = "mpi";
    return p;
  }
  const int gpus = static_cast<int>(torch::cuda::device_count());
  if (p.local_size > gpus && backend != "mpi")
    throw std::runtime_error(std::to_string(p.local_size) + " ranks on this node but only " + std::to_string(gpus) +
                             " GPU(s): start one rank per GPU, or set dist.backend = \"mpi\" to share GPUs "
                             "(slower: gradients are staged through host memory)");
  p.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(p.local_rank % gpus));
#ifdef CDAE_WITH_NCCL
  p.backend = backend == "mpi" ? "mpi" : "nccl";
#else
  if (backend == "nccl") throw std::runtime_error("config: dist.backend = \"nccl\" but this build has no NCCL");
  p.backend = "mpi";
#endif
  return p;
}

std::unique_ptr<Communicator> make_communicator(const Placement& placement) {
#ifdef CDAE_WITH_NCCL
  if (placement.backend == "nccl") return std::make_unique<NcclCommunicator>(MPI_COMM_WORLD, placement.device);
#endif
  return std::make_unique<MpiCommunicator>(MPI_COMM_WORLD);
}

void abort_job(const std::string& message) {
  int rank = 0, size = 1, initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  std::cerr << "cdae: error on rank " << rank << ": " << message << std::endl;
  // Alone, a plain exit says it all; with other ranks, MPI_Abort ends them too.
  if (initialized && size > 1) MPI_Abort(MPI_COMM_WORLD, 1);
  if (initialized) MPI_Finalize();
  std::exit(1);
}

}  // namespace cdae::dist
