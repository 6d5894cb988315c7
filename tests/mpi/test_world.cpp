// Rank discovery over MPI: the thread level MpiSession asked for, the
// node-wide exchange that GPU placement uses, and placement on CPU ranks.
#include <gtest/gtest.h>
#include <mpi.h>

#include "dist/world.h"

using namespace cdae;

TEST(World, MpiAllowsCallsFromTheAutogradThread) {
  // mpi_main.cpp starts MPI through dist::MpiSession, as the executables do.
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  EXPECT_GE(level, MPI_THREAD_SERIALIZED);
}

TEST(World, AllGatherListsKeepsRankOrderAndEmptyLists) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  auto list_of = [](int r) {  // rank r contributes r items; rank 0 none
    std::vector<std::string> items;
    for (int k = 0; k < r; ++k) items.push_back("0000:" + std::to_string(r) + ":" + std::to_string(k) + ".0");
    return items;
  };
  const auto lists = dist::all_gather_lists(MPI_COMM_WORLD, list_of(rank));
  ASSERT_EQ(static_cast<int>(lists.size()), size);
  for (int r = 0; r < size; ++r) EXPECT_EQ(lists[r], list_of(r)) << "rank " << r;
}

TEST(World, CpuPlacementIsTheSameOnEveryRank) {
  const auto p = dist::place_this_rank("cpu", "auto");
  EXPECT_TRUE(p.device.is_cpu());
  EXPECT_EQ(p.backend, "mpi");
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  EXPECT_EQ(p.world_size, size);
  EXPECT_GE(p.local_rank, 0);
  EXPECT_LT(p.local_rank, p.local_size);
  // A refused choice is refused on every rank after the same collectives,
  // so no rank is left waiting in one.
  EXPECT_THROW(dist::place_this_rank("cpu", "nccl"), std::runtime_error);
}
