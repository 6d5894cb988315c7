// Who this process is: MPI rank and size, the rank within its node, the
// device it computes on and the communicator it sums gradients with.
#pragma once
#include <memory>
#include <string>

#include <mpi.h>
#include <torch/torch.h>

#include "dist/communicator.h"

namespace cdae::dist {

// MPI_Init_thread in the constructor, MPI_Finalize in the destructor. A plain
// single process (no mpirun) is a world of one.
class MpiSession {
 public:
  MpiSession(int* argc, char*** argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

struct Placement {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_size = 1;
  torch::Device device{torch::kCPU};
  std::string backend;  // "mpi" or "nccl"
};

// The rank within the node and the node's rank count (MPI shared-memory split).
std::pair<int, int> local_rank_and_size();

// Picks the device (device: auto|cpu|cuda) and the backend (auto|mpi|nccl).
// More ranks on a node than GPUs is refused unless backend is "mpi", which
// stages through host memory and may share a GPU. Throws with a clear message.
Placement place_this_rank(const std::string& device, const std::string& backend);

std::unique_ptr<Communicator> make_communicator(const Placement& placement);

// Ends the whole job with this rank's message: used for any exception so a
// failing rank never leaves the others waiting in a collective.
[[noreturn]] void abort_job(const std::string& message);

}  // namespace cdae::dist
