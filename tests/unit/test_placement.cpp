// Which GPU each rank of a node takes and whether NCCL may be used, with
// made-up PCI bus ids for the layouts of mpirun and Slurm's GPU binding.
#include <gtest/gtest.h>
#include <mpi.h>

#include "dist/placement.h"
#include "dist/world.h"

using namespace cdae::dist;

namespace {

const std::vector<GpuId> node4 = {"0000:1b:00.0", "0000:3d:00.0", "0000:9a:00.0", "0000:cb:00.0"};

// Every local rank sees the same `gpus` (mpirun, or Slurm without GPU binding).
NodeGpus all_see(int ranks, const std::vector<GpuId>& gpus) { return NodeGpus(ranks, gpus); }

}  // namespace

TEST(Placement, FourVisibleGpusFourRanks_EachTakesItsLocalRank) {
  const auto visible = all_see(4, node4);
  const auto device_of = assign_devices(visible);
  EXPECT_EQ(device_of, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(shared_gpu_report(visible, device_of), "");
  EXPECT_EQ(choose_backend("auto", true, true, "", false), "nccl");
}

TEST(Placement, OneVisibleGpuPerTask_EachTakesIndexZero) {
  // srun --ntasks=4 --gpus-per-task=1: CUDA_VISIBLE_DEVICES differs per task,
  // so device_count() is 1 everywhere, yet every rank has its own GPU.
  NodeGpus visible;
  for (const auto& gpu : node4) visible.push_back({gpu});
  const auto device_of = assign_devices(visible);
  EXPECT_EQ(device_of, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(shared_gpu_report(visible, device_of), "");
  EXPECT_EQ(choose_backend("auto", true, true, "", false), "nccl");
  EXPECT_EQ(choose_backend("nccl", true, true, "", false), "nccl");
}

TEST(Placement, TwoRanksOnOneGpu_NcclRefusedMpiAllowed) {
  const auto visible = all_see(2, {"0000:1b:00.0"});
  const auto device_of = assign_devices(visible);
  EXPECT_EQ(device_of, (std::vector<int>{0, 0}));
  const auto report = shared_gpu_report(visible, device_of);
  EXPECT_NE(report.find("local ranks 0 and 1"), std::string::npos) << report;
  EXPECT_NE(report.find("0000:1b:00.0"), std::string::npos) << report;
  for (const char* requested : {"auto", "nccl"}) {
    try {
      choose_backend(requested, true, true, report, true);
      ADD_FAILURE() << "dist.backend = " << requested << " was not refused";
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("0000:1b:00.0"), std::string::npos) << message;
      EXPECT_NE(message.find("dist.backend = \"mpi\""), std::string::npos) << message;
    }
  }
  EXPECT_EQ(choose_backend("mpi", true, true, report, true), "mpi");
}

TEST(Placement, MoreRanksThanGpus_RanksShareRoundRobin) {
  const std::vector<GpuId> two = {node4[0], node4[1]};
  const auto visible = all_see(4, two);
  const auto device_of = assign_devices(visible);
  EXPECT_EQ(device_of, (std::vector<int>{0, 1, 0, 1}));
  const auto report = shared_gpu_report(visible, device_of);
  EXPECT_NE(report.find("local ranks 0 and 2"), std::string::npos) << report;
  EXPECT_THROW(choose_backend("auto", true, true, report, true), std::runtime_error);
  EXPECT_EQ(choose_backend("mpi", true, true, report, true), "mpi");
}

TEST(Placement, ClosestBindingWithRanksAlternatingSockets_EveryRankGetsItsOwnGpu) {
  // --gpu-bind=closest with ranks 0, 2 on socket 0 (GPUs 0, 1) and 1, 3 on
  // socket 1 (GPUs 2, 3): rank % visible alone would put 0 and 2 on one GPU.
  const NodeGpus visible = {{node4[0], node4[1]}, {node4[2], node4[3]}, {node4[0], node4[1]}, {node4[2], node4[3]}};
  const auto device_of = assign_devices(visible);
  EXPECT_EQ(device_of, (std::vector<int>{0, 1, 1, 0}));
  EXPECT_EQ(shared_gpu_report(visible, device_of), "");
}

TEST(Placement, OneRankSharingOnAnotherNodeRefusesNcclHereToo) {
  // Every rank must choose the same backend, or the first collective hangs.
  try {
    choose_backend("auto", true, true, "", true);
    ADD_FAILURE() << "not refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("another node"), std::string::npos) << e.what();
  }
}

TEST(Placement, CpuAndBuildsWithoutNccl) {
  EXPECT_EQ(choose_backend("auto", false, true, "", false), "mpi");
  EXPECT_THROW(choose_backend("nccl", false, true, "", false), std::runtime_error);
  try {
    choose_backend("nccl", false, true, "", false, "this rank: no GPU is visible");
    ADD_FAILURE() << "not refused";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("dist.backend = \"nccl\""), std::string::npos) << message;
    EXPECT_NE(message.find("no GPU is visible"), std::string::npos) << message;
  }
  EXPECT_EQ(choose_backend("auto", true, false, "", false), "mpi");
  EXPECT_THROW(choose_backend("nccl", true, false, "", false), std::runtime_error);
}

TEST(Placement, DeviceChoice) {
  EXPECT_FALSE(use_cuda("cpu", true, true));
  EXPECT_TRUE(use_cuda("cuda", true, false));
  EXPECT_THROW(use_cuda("cuda", false, false), std::runtime_error);
  try {
    use_cuda("cuda", false, false, "no GPU is visible (CUDA device count 0)");
    ADD_FAILURE() << "not refused";
  } catch (const std::runtime_error& e) {  // the setting and what was found, in one line
    const std::string message = e.what();
    EXPECT_NE(message.find("device = \"cuda\""), std::string::npos) << message;
    EXPECT_NE(message.find("CUDA device count 0"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_TRUE(use_cuda("auto", true, true));
  // One rank without a GPU makes the whole job use the CPU, not half of it.
  EXPECT_FALSE(use_cuda("auto", true, false));
  EXPECT_FALSE(use_cuda("auto", false, false));
}

TEST(Placement, RankSeeingNoGpuIsAnError) {
  EXPECT_THROW(assign_devices({{node4[0]}, {}}), std::invalid_argument);
}

TEST(MpiThreadLevel, SerializedOrMoreIsEnough) {
  EXPECT_EQ(thread_level_shortfall(MPI_THREAD_SERIALIZED), "");
  EXPECT_EQ(thread_level_shortfall(MPI_THREAD_MULTIPLE), "");
  for (int level : {MPI_THREAD_SINGLE, MPI_THREAD_FUNNELED}) {
    const auto message = thread_level_shortfall(level);
    EXPECT_NE(message.find("needs MPI_THREAD_SERIALIZED"), std::string::npos) << message;
  }
  EXPECT_NE(thread_level_shortfall(MPI_THREAD_FUNNELED).find("provides MPI_THREAD_FUNNELED"), std::string::npos);
}
