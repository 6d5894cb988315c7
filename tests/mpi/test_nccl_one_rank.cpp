// One NCCL rank against the MPI backend, on the GPU (builds with NCCL only;
// skipped without a visible GPU and in the 2- and 3-rank launches). With one
// rank NCCL's sums and gathers change no value, yet every call goes through
// the same code as with many: the events that order NCCL's stream after the
// compute stream and back, record_stream, the dtype mapping, the padding of
// the all-gather, the overlap hooks of the gradient buckets (which start sums
// from autograd's device thread). So a few training steps must give what the
// MPI backend gives, where one rank communicates nothing.
#ifdef CDAE_WITH_NCCL
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "dist/mpi_communicator.h"
#include "dist/nccl_communicator.h"
#include "train/precision.h"
#include "train/trainer.h"

using namespace cdae;

namespace {

// Why the test cannot run here, or "" when it can.
std::string why_skip() {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size != 1) return "one NCCL rank: runs in the 1-rank launch";
  if (!torch::cuda::is_available()) return "no CUDA device visible";
  return "";
}

const torch::Device gpu(torch::kCUDA, 0);

train::Config small_config(const std::string& dir, const std::string& precision) {
  nlohmann::json j = {{"model", {{"preset", "small"}, {"dropout", 0.0}}},
                      {"height", 37}, {"width", 37}, {"seqlen", 21},
                      {"batch_size_train", 13}, {"batch_size_val", 5},
                      {"contrastive_loss", {{"n_outliers", 5}, {"n_outliers_val", 2}, {"dtheta", 2.1}}},
                      {"learning_rate", 0.0005}, {"epochs", 5}, {"loss_type", "mse"},
                      {"device", "cuda"}, {"seed", 0}, {"progress_seconds", 1000}, {"precision", precision},
                      {"path_save_model", dir + "/model"}, {"path_scratch", dir + "/scratch"}};
  return train::parse_config(j);
}

double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-30);
}

// Five contrastive steps with NCCL and with MPI on the same GPU, same seed.
void expect_nccl_trains_like_mpi(const std::string& precision, double tolerance) {
  // cuDNN may pick different (and non-deterministic) algorithms run to run.
  at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setDeterministicCuDNN(true);
  train::configure_precision(precision);
  const auto dir = (std::filesystem::temp_directory_path() / ("cdae_nccl_" + precision + "_" +
                                                              std::to_string(::getpid()))).string();
  std::filesystem::remove_all(dir);

  dist::NcclCommunicator nccl(MPI_COMM_SELF, gpu);
  train::Trainer with_nccl(small_config(dir + "/nccl", precision), "", {}, nccl, gpu);
  ASSERT_EQ(with_nccl.run(), 0);
  dist::MpiCommunicator mpi(MPI_COMM_SELF);
  train::Trainer with_mpi(small_config(dir + "/mpi", precision), "", {}, mpi, gpu);
  ASSERT_EQ(with_mpi.run(), 0);

  const auto a = model::state_dict(with_nccl.model()), b = model::state_dict(with_mpi.model());
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_TRUE(a[k].second.is_cuda()) << a[k].first;
    if (a[k].second.scalar_type() == torch::kLong) {
      EXPECT_TRUE(torch::equal(a[k].second, b[k].second)) << a[k].first;
      continue;
    }
    EXPECT_LT(relative_difference(a[k].second, b[k].second), tolerance) << a[k].first << ", " << precision;
  }
  const auto n = with_nccl.last_losses(), m = with_mpi.last_losses();
  EXPECT_NEAR(n.train, m.train, tolerance * std::abs(m.train));
  EXPECT_NEAR(n.val, m.val, tolerance * std::abs(m.val));
  EXPECT_NEAR(n.train_contrastive, m.train_contrastive, tolerance * std::abs(m.train_contrastive) + 1e-7);
  EXPECT_NE(m.train_contrastive, 0.0);  // the gathered latents took part
  std::filesystem::remove_all(dir);
  train::configure_precision("fp32");
}

}  // namespace

TEST(NcclOneRank, EveryDtypeGoesThroughSumsBroadcastsAndGathers) {
  if (const auto why = why_skip(); !why.empty()) GTEST_SKIP() << why;
  dist::NcclCommunicator nccl(MPI_COMM_SELF, gpu);
  for (auto dtype : {torch::kFloat32, torch::kFloat64, torch::kBFloat16, torch::kFloat16, torch::kInt32, torch::kInt64,
                     torch::kUInt8}) {
    auto t = torch::arange(1000, torch::TensorOptions().device(gpu)).remainder(97).to(dtype).reshape({250, 4});
    const auto expected = t.clone();
    nccl.all_reduce_sum(t);
    EXPECT_TRUE(torch::equal(t, expected)) << "all_reduce_sum " << toString(dtype);
    nccl.broadcast(t, 0);
    EXPECT_TRUE(torch::equal(t, expected)) << "broadcast " << toString(dtype);
    // Out of place, so NCCL really copies: a wrong element size would show.
    EXPECT_TRUE(torch::equal(nccl.all_gather_rows(t, {250}), expected)) << "all_gather_rows " << toString(dtype);
  }
  auto empty = torch::empty({0}, torch::TensorOptions().device(gpu));
  nccl.all_reduce_sum(empty);  // nothing to send: no NCCL call at all
  auto on_cpu = torch::ones({3});
  EXPECT_ANY_THROW(nccl.all_reduce_sum(on_cpu));
  nccl.barrier();
}

TEST(NcclOneRank, GatherIsOrderedAfterTheKernelsBeforeItAndBeforeThoseAfterIt) {
  if (const auto why = why_skip(); !why.empty()) GTEST_SKIP() << why;
  dist::NcclCommunicator nccl(MPI_COMM_SELF, gpu);
  // Kernels of several milliseconds write `local`, and the host calls the
  // gather at once. If NCCL's stream did not wait for them, it would copy
  // what the memory held before; if the compute stream did not wait for
  // NCCL, the comparison would read the result before it is there.
  const auto a = torch::randn({4096, 4096}, torch::TensorOptions().device(gpu)) / 64;
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto local = a.matmul(a).matmul(a).matmul(a);
    const auto gathered = nccl.all_gather_rows(local, {4096});
    EXPECT_NE(gathered.data_ptr(), local.data_ptr());  // NCCL wrote a buffer of its own
    EXPECT_TRUE(torch::equal(gathered, local)) << "repeat " << repeat;
  }
}

TEST(NcclOneRank, AllGatherChecksRowCountsAndHandlesEmptyShares) {
  if (const auto why = why_skip(); !why.empty()) GTEST_SKIP() << why;
  dist::NcclCommunicator nccl(MPI_COMM_SELF, gpu);
  const auto options = torch::TensorOptions().device(gpu);
  const auto local = torch::arange(12, options).reshape({4, 3}).to(torch::kFloat32);
  EXPECT_TRUE(torch::equal(nccl.all_gather_rows(local, {4}), local));
  const auto none = nccl.all_gather_rows(torch::empty({0, 3}, options), {0});
  EXPECT_EQ(none.sizes().vec(), (std::vector<std::int64_t>{0, 3}));
  EXPECT_ANY_THROW(nccl.all_gather_rows(local, {3}));     // local rows differ from rows[rank]
  EXPECT_ANY_THROW(nccl.all_gather_rows(local, {4, 1}));  // one row count per rank
}

TEST(NcclOneRank, FiveStepsMatchTheMpiBackend_Float64) {
  if (const auto why = why_skip(); !why.empty()) GTEST_SKIP() << why;
  expect_nccl_trains_like_mpi("fp64", 1e-9);
}

TEST(NcclOneRank, FiveStepsMatchTheMpiBackend_Float32) {
  if (const auto why = why_skip(); !why.empty()) GTEST_SKIP() << why;
  // Same kernels on both sides; what differs is atomics in a few kernels,
  // which Adam's first steps amplify (see test_dist_equivalence.cpp).
  expect_nccl_trains_like_mpi("fp32", 1e-4);
}

#endif  // CDAE_WITH_NCCL
