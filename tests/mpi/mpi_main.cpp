// GoogleTest under mpirun: every rank runs every test (the tests are
// collective); only rank 0 prints, and a failure on any rank fails the run.
#include <gtest/gtest.h>
#include <mpi.h>

#include "dist/world.h"

int main(int argc, char** argv) {
  // As the executables start MPI (thread level checked, errors returned).
  cdae::dist::MpiSession mpi(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0, any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any_failed && !failed) std::printf("[  FAILED  ] a test failed on another rank\n");
  return any_failed;  // ~MpiSession calls MPI_Finalize
}
