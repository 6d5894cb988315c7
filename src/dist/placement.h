// Where a rank computes and how the ranks talk, decided from facts that
// world.cpp gathers (what each rank of the node sees, what this build has).
// Pure functions: no MPI, no CUDA, no LibTorch, so every case, including
// cluster layouts this project never runs on, is unit-tested on a CPU.
#pragma once
#include <string>
#include <vector>

namespace cdae::dist {

// A GPU as the node knows it: its PCI bus id ("0000:1b:00.0"), the same
// whatever CUDA_VISIBLE_DEVICES a rank runs under. It is also what NCCL
// compares to refuse two ranks on one GPU ("Duplicate GPU detected").
using GpuId = std::string;

// Per local rank (index = rank within the node): the GPUs it sees, in its
// own CUDA device order (index 0 first).
using NodeGpus = std::vector<std::vector<GpuId>>;

// Whether ranks compute on CUDA. device: "auto" | "cpu" | "cuda".
// `this_rank_has_gpu` is what this rank sees; `every_rank_has_gpu` is the
// same over the whole job, so that "auto" makes the same choice everywhere
// (a job with CPU and CUDA ranks would hang in its first collective).
// Throws for "cuda" on a rank that sees no GPU; the message names the setting
// and `found`, what this rank found instead (e.g. "no GPU is visible (CUDA
// device count 0)").
bool use_cuda(const std::string& device, bool this_rank_has_gpu, bool every_rank_has_gpu,
              const std::string& found = "no GPU is visible");

// The CUDA device index each local rank computes on. Local rank r first
// tries index r % (GPUs it sees): that is r itself when it sees every GPU of
// the node (plain mpirun) and 0 when it sees exactly one (Slurm's
// --gpus-per-task=1). If a lower local rank already holds that GPU (e.g.
// --gpu-bind=closest with ranks spread over the sockets), it takes the next
// of its GPUs that nobody holds yet; if all are held, it shares the first
// choice, which shared_gpu_report() then names.
// Throws std::invalid_argument when a rank sees no GPU.
std::vector<int> assign_devices(const NodeGpus& visible);

// "" when no two local ranks hold the same GPU; otherwise a sentence naming
// the first GPU held twice and by which local ranks.
std::string shared_gpu_report(const NodeGpus& visible, const std::vector<int>& device_of);

// The backend ("mpi" or "nccl") for dist.backend = "auto" | "mpi" | "nccl".
// `shared_here` is shared_gpu_report() of this rank's node, `shared_anywhere`
// whether any node of the job reported one (the answer must be the same on
// every rank). NCCL refuses two ranks on one GPU, so shared GPUs need "mpi";
// "auto" refuses them too rather than silently staging every gradient
// through host memory. Throws std::runtime_error with what to change;
// `why_cpu` says why the ranks compute on the CPU (when `cuda` is false), for
// the refusal of "nccl".
std::string choose_backend(const std::string& requested, bool cuda, bool nccl_built, const std::string& shared_here,
                           bool shared_anywhere, const std::string& why_cpu = "the ranks compute on the CPU");

}  // namespace cdae::dist
