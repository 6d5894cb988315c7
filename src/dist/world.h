// Who this process is: MPI rank and size, the rank within its node, the
// device it computes on and the communicator it sums gradients with.
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <mpi.h>
#include <torch/torch.h>

#include "dist/communicator.h"

namespace cdae::dist {

// MPI_Init_thread in the constructor, MPI_Finalize in the destructor. A plain
// single process (no mpirun) is a world of one. Asks for
// MPI_THREAD_SERIALIZED and ends the job with a clear message when MPI
// provides less: with CUDA tensors, autograd runs backward (the latent
// gather's and the batch-norm sum's backward, the gradient buckets' hooks
// where enabled) in its own device thread, which then calls MPI while the
// main thread waits in backward().
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
  std::vector<std::string> node_of_rank;  // every rank's host name, in rank order
};

// Which ranks run on which node, for the log: "ranks 0-1 on n1, 2-3 on n2"
// (consecutive ranks on one node are one range; nodes in order of first rank).
std::string rank_layout(const std::vector<std::string>& node_of_rank);

// "" when MPI's thread level `provided` allows calls from the autograd
// thread (MPI_THREAD_SERIALIZED or more), else what is wrong and what to do.
std::string thread_level_shortfall(int provided);

// The rank within the node and the node's rank count (MPI shared-memory split).
std::pair<int, int> local_rank_and_size();

// Every rank's list of strings, in rank order, over `comm` (collective).
std::vector<std::vector<std::string>> all_gather_lists(MPI_Comm comm, const std::vector<std::string>& mine);

// Fills in node_of_rank (collective), picks the device (device:
// auto|cpu|cuda) and the backend (auto|mpi|nccl) with the rules of placement.h: the ranks of a node exchange the PCI bus ids
// of the GPUs they see, each takes a GPU nobody else holds where it can, and
// NCCL is refused only when two ranks would hold the same GPU (backend "mpi"
// stages through host memory and may share one). The chosen device is made
// current before any other CUDA work. Throws with a clear message.
Placement place_this_rank(const std::string& device, const std::string& backend);

// The communicator of `placement.backend` over MPI_COMM_WORLD. timeout_s is
// dist.timeout_s: a blocking collective that waits longer for the other
// ranks ends the job with a message naming this rank, its node and the
// collective (collective_watchdog.h); 0 waits for ever. NCCL's own
// collectives run on the GPU and are not watched; its host-side calls are.
std::unique_ptr<Communicator> make_communicator(const Placement& placement, double timeout_s = 0);

// Ends the whole job with this rank's message: used for any exception so a
// failing rank never leaves the others waiting in a collective.
[[noreturn]] void abort_job(const std::string& message);

}  // namespace cdae::dist
