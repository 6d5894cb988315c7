#include "dist/placement.h"

#include <algorithm>
#include <stdexcept>

namespace cdae::dist {

bool use_cuda(const std::string& device, bool this_rank_has_gpu, bool every_rank_has_gpu, const std::string& found) {
  if (device == "cpu") return false;
  if (device == "cuda") {
    if (!this_rank_has_gpu)
      throw std::runtime_error("config: device = \"cuda\", but " + found +
                               "; use device = \"cpu\" or \"auto\" (auto picks the CPU when a rank sees no GPU)");
    return true;
  }
  return every_rank_has_gpu;  // "auto" (the config parser has refused anything else)
}

std::vector<int> assign_devices(const NodeGpus& visible) {
  std::vector<int> device_of(visible.size());
  std::vector<GpuId> held;  // GPUs taken by lower local ranks
  for (std::size_t rank = 0; rank < visible.size(); ++rank) {
    const auto& mine = visible[rank];
    if (mine.empty())
      throw std::invalid_argument("local rank " + std::to_string(rank) + " sees no GPU");
    const int count = static_cast<int>(mine.size());
    const int first_choice = static_cast<int>(rank % mine.size());
    device_of[rank] = first_choice;
    for (int step = 0; step < count; ++step) {
      const int index = (first_choice + step) % count;
      if (std::find(held.begin(), held.end(), mine[index]) == held.end()) {
        device_of[rank] = index;
        break;
      }
    }
    held.push_back(mine[device_of[rank]]);
  }
  return device_of;
}

std::string shared_gpu_report(const NodeGpus& visible, const std::vector<int>& device_of) {
  for (std::size_t a = 0; a < visible.size(); ++a) {
    const auto& gpu = visible[a][device_of[a]];
    std::vector<std::size_t> holders{a};
    for (std::size_t b = a + 1; b < visible.size(); ++b)
      if (visible[b][device_of[b]] == gpu) holders.push_back(b);
    if (holders.size() < 2) continue;
    std::string ranks;
    for (std::size_t k = 0; k < holders.size(); ++k)
      ranks += (k == 0 ? "" : k + 1 == holders.size() ? " and " : ", ") + std::to_string(holders[k]);
    return "local ranks " + ranks + " would use the same GPU " + gpu + " (" + std::to_string(visible.size()) +
           " ranks on this node, local rank " + std::to_string(a) + " sees " + std::to_string(visible[a].size()) +
           " GPU(s))";
  }
  return "";
}

std::string choose_backend(const std::string& requested, bool cuda, bool nccl_built, const std::string& shared_here,
                           bool shared_anywhere, const std::string& why_cpu) {
  if (!cuda) {
    if (requested == "nccl")
      throw std::runtime_error("config: dist.backend = \"nccl\" needs a GPU on every rank, but " + why_cpu +
                               "; use dist.backend = \"mpi\" or \"auto\"");
    return "mpi";
  }
  if (requested == "mpi") return "mpi";  // stages through host memory, so GPUs may be shared
  if (!nccl_built) {
    if (requested == "nccl") throw std::runtime_error("config: dist.backend = \"nccl\" but this build has no NCCL");
    return "mpi";
  }
  if (shared_anywhere) {
    const std::string what = shared_here.empty() ? "two ranks share a GPU on another node (see its message)"
                                                  : shared_here;
    throw std::runtime_error(what + ": NCCL needs one GPU per rank. Start one rank per GPU (Slurm: "
                             "--ntasks-per-node = GPUs per node with --gpus-per-task=1), or set dist.backend = "
                             "\"mpi\" to share GPUs (slower: gradients are staged through host memory)");
  }
  return "nccl";
}

}  // namespace cdae::dist
