// The central test of dist/ (DESIGN.md): with dropout off, N ranks and one
// rank produce the same parameters and the same logged losses after K steps.
// Rank 0 also trains alone on MPI_COMM_SELF as the reference, in the same job.
#include <gtest/gtest.h>

#include <filesystem>

#include "dist/mpi_communicator.h"
#include "train/trainer.h"

using namespace cdae;

namespace {

std::string shared_temp_dir(dist::Communicator& comm, const std::string& tag) {
  std::string dir;
  if (comm.rank() == 0) {
    dir = (std::filesystem::temp_directory_path() /
           ("cdae_equiv_" + tag + "_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir);
  }
  comm.broadcast_string(dir, 0);
  return dir;
}

train::Config small_config(const std::string& dir, const std::string& loss_type, int epochs,
                           const std::string& precision) {
  nlohmann::json j = {{"model", {{"preset", "small"}, {"dropout", 0.0}}},
                      {"height", 37}, {"width", 37}, {"seqlen", 21},
                      {"batch_size_train", 13}, {"batch_size_val", 5},
                      {"contrastive_loss", {{"n_outliers", 5}, {"n_outliers_val", 2}, {"dtheta", 2.1}}},
                      {"learning_rate", 0.0005}, {"epochs", epochs}, {"loss_type", loss_type},
                      {"device", "cpu"}, {"seed", 0}, {"progress_seconds", 1000}, {"precision", precision},
                      {"path_save_model", dir + "/model"}, {"path_scratch", dir + "/scratch"}};
  return train::parse_config(j);
}

// ||a - b|| / ||b|| over a whole tensor.
double relative_difference(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).norm().item<double>() / std::max(b.norm().item<double>(), 1e-30);
}

// In float32 the two runs differ by rounding (sums in another order), which
// Adam's first steps amplify where a gradient is near zero (its update is
// ~lr * sign(g)); in float64 the same code must agree to ~1e-9, which is
// where a real error in the distributed math would show.
void expect_same_training(const std::string& loss_type, int epochs, const std::string& precision, double tolerance) {
  dist::MpiCommunicator world(MPI_COMM_WORLD);
  const auto dir = shared_temp_dir(world, loss_type);
  train::Trainer distributed(small_config(dir + "/dist", loss_type, epochs, precision), "", {}, world, torch::kCPU);
  ASSERT_EQ(distributed.run(), 0);
  const auto dist_losses = distributed.last_losses();

  if (world.rank() == 0) {
    dist::MpiCommunicator alone(MPI_COMM_SELF);
    train::Trainer single(small_config(dir + "/single", loss_type, epochs, precision), "", {}, alone, torch::kCPU);
    ASSERT_EQ(single.run(), 0);
    const auto a = model::state_dict(distributed.model()), b = model::state_dict(single.model());
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) {
      if (a[k].second.scalar_type() == torch::kLong) {
        EXPECT_TRUE(torch::equal(a[k].second, b[k].second)) << a[k].first;
        continue;
      }
      EXPECT_LT(relative_difference(a[k].second, b[k].second), tolerance)
          << a[k].first << " with " << world.size() << " ranks, " << precision;
    }
    const auto s = single.last_losses();
    EXPECT_NEAR(dist_losses.train, s.train, tolerance * std::abs(s.train));
    EXPECT_NEAR(dist_losses.train_contrastive, s.train_contrastive, tolerance * std::abs(s.train_contrastive) + 1e-7);
    EXPECT_NEAR(dist_losses.val, s.val, tolerance * std::abs(s.val));
    EXPECT_NEAR(dist_losses.val_contrastive, s.val_contrastive, tolerance * std::abs(s.val_contrastive) + 1e-7);
    EXPECT_NE(s.train_contrastive, 0.0);  // the contrastive term took part
    std::filesystem::remove_all(dir);
  }
  world.barrier();
}

}  // namespace

TEST(DistEquivalence, FiveContrastiveStepsMatchOneRank_Mse_Float32) { expect_same_training("mse", 5, "fp32", 1e-5); }

TEST(DistEquivalence, FiveContrastiveStepsMatchOneRank_Mse_Float64) { expect_same_training("mse", 5, "fp64", 1e-9); }

TEST(DistEquivalence, FiveContrastiveStepsMatchOneRank_Max_Float64) { expect_same_training("max", 5, "fp64", 1e-9); }
