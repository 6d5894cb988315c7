// The collective watchdog (dist.timeout_s): fires once, with a message naming
// the rank, its node and the collective, for a call that stays blocked past
// the timeout; never for calls that complete, even after a slow rank. The
// real end of a job (MPI_Abort on a cut link) is tested by
// tests/slurm/run_multinode_test.sh.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "dist/collective_watchdog.h"
#include "dist/mpi_communicator.h"
#include "dist/world.h"

using namespace cdae;
using namespace std::chrono_literals;

namespace {

struct Recorder {
  std::mutex mutex;
  std::vector<std::string> messages;
  dist::CollectiveWatchdog::Expiry expiry() {
    return [this](const std::string& m) {
      std::lock_guard<std::mutex> lock(mutex);
      messages.push_back(m);
    };
  }
  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lock(mutex);
    return messages;
  }
};

int world_rank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

}  // namespace

TEST(Watchdog, FiresOnceForACallBlockedPastTheTimeout) {
  Recorder recorder;
  dist::CollectiveWatchdog watchdog(1.0, dist::describe_rank(world_rank()), recorder.expiry());
  {
    dist::CollectiveWatchdog::Armed armed(&watchdog, "MPI_Allreduce");
    std::this_thread::sleep_for(1500ms);  // "blocked" past the 1 s timeout
  }
  const auto messages = recorder.seen();
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_NE(messages[0].find("rank " + std::to_string(world_rank()) + " (node "), std::string::npos) << messages[0];
  EXPECT_NE(messages[0].find("MPI_Allreduce has not completed after 1 s (dist.timeout_s)"), std::string::npos)
      << messages[0];
}

TEST(Watchdog, QuietForCallsThatCompleteInTime) {
  Recorder recorder;
  dist::CollectiveWatchdog watchdog(1.0, "rank 0 (node test)", recorder.expiry());
  // Many short calls whose sum is far longer than the timeout: the timeout is per call.
  for (int k = 0; k < 30; ++k) {
    dist::CollectiveWatchdog::Armed armed(&watchdog, "MPI_Bcast");
    std::this_thread::sleep_for(100ms);
  }
  std::this_thread::sleep_for(1200ms);  // and nothing armed: nothing fires later
  EXPECT_TRUE(recorder.seen().empty());
}

TEST(Watchdog, OffWithoutATimeoutOrAWatchdog) {
  Recorder recorder;
  dist::CollectiveWatchdog off(0, "rank 0 (node test)", recorder.expiry());
  { dist::CollectiveWatchdog::Armed armed(&off, "MPI_Barrier"); }
  { dist::CollectiveWatchdog::Armed none(nullptr, "MPI_Barrier"); }
  EXPECT_EQ(off.timeout_s(), 0);
  EXPECT_TRUE(recorder.seen().empty());
}

TEST(Watchdog, ASlowRankShorterThanTheTimeoutDoesNotTriggerIt) {
  Recorder recorder;
  dist::MpiCommunicator comm(MPI_COMM_WORLD, 2.0, recorder.expiry());
  EXPECT_EQ(comm.timeout_s(), comm.size() > 1 ? 2.0 : 0.0);  // alone, nothing ever waits
  // The last rank is late by 1 s at every call; the others wait for it inside the collective.
  for (int k = 0; k < 3; ++k) {
    if (comm.rank() == comm.size() - 1) std::this_thread::sleep_for(1000ms);
    auto t = torch::ones({4});
    comm.all_reduce_sum(t);
    EXPECT_EQ(t[0].item<float>(), static_cast<float>(comm.size()));
    comm.barrier();
  }
  EXPECT_TRUE(recorder.seen().empty()) << recorder.seen().front();
}

TEST(World, RankLayoutGroupsConsecutiveRanksPerNode) {
  EXPECT_EQ(dist::rank_layout({"n1"}), "rank 0 on n1");
  EXPECT_EQ(dist::rank_layout({"n1", "n1", "n2", "n2"}), "ranks 0-1 on n1, 2-3 on n2");
  EXPECT_EQ(dist::rank_layout({"a", "b", "a", "b", "b"}), "ranks 0,2 on a, 1,3-4 on b");
}

TEST(World, PlacementNamesEveryRanksNode) {
  const auto p = dist::place_this_rank("cpu", "mpi");
  ASSERT_EQ(static_cast<int>(p.node_of_rank.size()), p.world_size);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(p.node_of_rank[p.rank], host);
}
