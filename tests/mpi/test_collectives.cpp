// Each collective of the MPI backend, the differentiable gather and reduce
// against single-process autograd, gradient buckets and synchronized batch norm.
#include <gtest/gtest.h>

#include "data/batch_plan.h"
#include "dist/autograd_collectives.h"
#include "dist/gradient_buckets.h"
#include "dist/mpi_communicator.h"
#include "model/input_batch_norm.h"

using namespace cdae;

namespace {
dist::MpiCommunicator world() { return dist::MpiCommunicator(MPI_COMM_WORLD); }

// Rows of a global (total, width) matrix that every rank can construct.
torch::Tensor global_matrix(int64_t total, int64_t width) {
  return torch::arange(total * width, torch::kFloat64).reshape({total, width}).sin();
}
}  // namespace

TEST(Collectives, AllReduceSumsEveryDtype) {
  auto comm = world();
  const int n = comm.size(), r = comm.rank();
  auto f = torch::full({5}, static_cast<float>(r + 1));
  auto d = torch::full({3}, 0.5 * (r + 1), torch::kFloat64);
  auto i = torch::full({2}, static_cast<int64_t>(r + 1), torch::kInt64);
  comm.all_reduce_sum(f);
  comm.all_reduce_sum(d);
  comm.all_reduce_sum(i);
  const double expected = n * (n + 1) / 2.0;
  EXPECT_TRUE(torch::all(f == static_cast<float>(expected)).item<bool>());
  EXPECT_TRUE(torch::all(d == 0.5 * expected).item<bool>());
  EXPECT_TRUE(torch::all(i == static_cast<int64_t>(expected)).item<bool>());
}

TEST(Collectives, AllGatherRowsWithUnevenAndEmptyShares) {
  auto comm = world();
  for (int64_t total : {0, 1, 2, 7, 13}) {
    const auto rows = data::shard_sizes(total, comm.size());
    const auto shard = data::even_shard(total, comm.rank(), comm.size());
    const auto full = global_matrix(total, 3);
    const auto local = full.narrow(0, shard.begin, shard.size()).contiguous();
    const auto gathered = comm.all_gather_rows(local, rows);
    ASSERT_EQ(gathered.sizes(), full.sizes()) << "total " << total;
    EXPECT_TRUE(torch::equal(gathered, full)) << "total " << total;
  }
}

TEST(Collectives, BroadcastTensorsAndStrings) {
  auto comm = world();
  auto t = torch::full({4}, static_cast<float>(comm.rank() + 7));
  comm.broadcast(t, 0);
  EXPECT_TRUE(torch::all(t == 7.0f).item<bool>());
  std::string text = comm.rank() == 0 ? std::string("{\"epochs\": 3}") : std::string("xx");
  comm.broadcast_string(text, 0);
  EXPECT_EQ(text, "{\"epochs\": 3}");
}

TEST(Collectives, DifferentiableAllGatherGradientMatchesSingleProcess) {
  auto comm = world();
  const int64_t total = 7, width = 4;
  const auto full = global_matrix(total, width);
  const auto weights = torch::linspace(-1, 2, total * width, torch::kFloat64).reshape({total, width});
  auto f = [&](const torch::Tensor& x) { return (x * x * weights).sum() + x.sum(0).norm(); };

  auto reference = full.clone().requires_grad_(true);
  f(reference).backward();

  const auto rows = data::shard_sizes(total, comm.size());
  const auto shard = data::even_shard(total, comm.rank(), comm.size());
  auto local = full.narrow(0, shard.begin, shard.size()).clone().requires_grad_(true);
  const auto gathered = dist::differentiable_all_gather(comm, local, rows);
  (f(gathered) / comm.size()).backward();  // each rank adds 1/N of the global term
  EXPECT_TRUE(torch::allclose(local.grad(), reference.grad().narrow(0, shard.begin, shard.size()), 1e-12, 1e-12));
}

TEST(Collectives, DifferentiableAllReduceGradientMatchesSingleProcess) {
  auto comm = world();
  const int n = comm.size(), r = comm.rank();
  // Rank r holds x_r; the loss of rank r is g_r(sum_k x_k); d/dx_r of sum_r g_r.
  auto x = torch::full({2}, 0.3 * (r + 1), torch::kFloat64).requires_grad_(true);
  const auto s = dist::differentiable_all_reduce(comm, x);
  ((r + 1.0) * s.square().sum()).backward();
  double total_x = 0, total_weight = 0;
  for (int k = 0; k < n; ++k) {
    total_x += 0.3 * (k + 1);
    total_weight += k + 1.0;
  }
  EXPECT_NEAR(x.grad()[0].item<double>(), 2 * total_weight * total_x, 1e-12);
}

TEST(Collectives, GradientBucketsSumOddSizedParameters) {
  auto comm = world();
  std::vector<torch::Tensor> params;
  for (int64_t size : {7, 1, 13, 130, 3, 29}) params.push_back(torch::randn({size}).requires_grad_(true));
  params.push_back(torch::randn({3, 5, 7}).requires_grad_(true));
  dist::GradientBuckets buckets(params, /*bucket_bytes=*/200);  // several buckets, one parameter larger than a bucket
  EXPECT_GT(buckets.bucket_count(), 2u);
  for (int repeat = 0; repeat < 2; ++repeat) {  // the views must survive a second backward
    buckets.zero();
    torch::Tensor loss = torch::zeros({});
    for (size_t k = 0; k < params.size(); ++k) loss = loss + (comm.rank() + 1.0) * (k + 1.0) * params[k].sum();
    loss.backward();
    buckets.all_reduce(comm);
    const double rank_sum = comm.size() * (comm.size() + 1) / 2.0;
    for (size_t k = 0; k < params.size(); ++k)
      EXPECT_TRUE(torch::allclose(params[k].grad(), torch::full_like(params[k], rank_sum * (k + 1.0))))
          << "parameter " << k << ", repeat " << repeat;
  }
  EXPECT_TRUE(buckets.all_finite());
  params[2].grad()[4] = std::nan("");
  EXPECT_FALSE(buckets.all_finite());
}

TEST(Collectives, GradientBucketsStartedDuringBackwardSumLikeAfterIt) {
  auto comm = world();
  std::vector<torch::Tensor> params;
  for (int64_t size : {7, 1, 13, 130, 3, 29, 11}) params.push_back(torch::randn({size}).requires_grad_(true));
  dist::GradientBuckets buckets(params, /*bucket_bytes=*/120);
  buckets.overlap_with_backward(comm);
  for (int repeat = 0; repeat < 3; ++repeat) {
    buckets.zero();
    // Parameter 4 is used twice (its AccumulateGrad still runs once); parameter 6 not at all.
    torch::Tensor loss = (comm.rank() + 1.0) * 5.0 * params[4].sum();
    for (size_t k = 0; k < 6; ++k) loss = loss + (comm.rank() + 1.0) * (k + 1.0) * params[k].sum();
    loss.backward();
    buckets.all_reduce(comm);
    const double rank_sum = comm.size() * (comm.size() + 1) / 2.0;
    for (size_t k = 0; k < 6; ++k) {
      const double expected = rank_sum * ((k + 1.0) + (k == 4 ? 5.0 : 0.0));
      EXPECT_TRUE(torch::allclose(params[k].grad(), torch::full_like(params[k], expected)))
          << "parameter " << k << ", repeat " << repeat;
    }
    EXPECT_TRUE(torch::all(params[6].grad() == 0).item<bool>());
  }
}

TEST(Collectives, SynchronizedBatchNormEqualsBatchNormOfTheGlobalBatch) {
  auto comm = world();
  const int64_t total = 5;
  torch::manual_seed(11);
  const auto x = torch::rand({total, 2, 3, 4, 4}, torch::kFloat64);
  const auto upstream = torch::randn({total, 2, 3, 4, 4}, torch::kFloat64);

  model::InputBatchNorm reference(2);
  reference->to(torch::kFloat64);
  auto x_ref = x.clone().requires_grad_(true);
  const auto y_ref = reference->forward(x_ref);
  (y_ref * upstream).sum().backward();

  model::InputBatchNorm synced(2);
  synced->to(torch::kFloat64);
  synced->reducer = [&comm](const torch::Tensor& t) { return dist::differentiable_all_reduce(comm, t); };
  const auto shard = data::even_shard(total, comm.rank(), comm.size());
  auto x_local = x.narrow(0, shard.begin, shard.size()).clone().requires_grad_(true);
  const auto y = synced->forward(x_local);
  (y * upstream.narrow(0, shard.begin, shard.size())).sum().backward();
  auto weight_grad = synced->weight.grad().clone();
  comm.all_reduce_sum(weight_grad);

  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(y, y_ref.narrow(0, shard.begin, shard.size()), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(x_local.grad(), x_ref.grad().narrow(0, shard.begin, shard.size()), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(weight_grad, reference->weight.grad(), 1e-10, 1e-10));
  EXPECT_TRUE(torch::allclose(synced->running_mean, reference->running_mean, 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(synced->running_var, reference->running_var, 1e-12, 1e-12));
}
