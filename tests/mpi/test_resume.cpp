// Exact resume and numerical-fault handling, on 1, 2 and 3 ranks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dist/mpi_communicator.h"
#include "io/hdf5_file.h"
#include "train/trainer.h"

using namespace cdae;

namespace {

std::string shared_dir(dist::Communicator& comm, const std::string& tag) {
  std::string dir;
  if (comm.rank() == 0) {
    dir = (std::filesystem::temp_directory_path() / ("cdae_" + tag + "_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir);
  }
  comm.broadcast_string(dir, 0);
  return dir;
}

train::Config config(const std::string& dir, int epochs, double dropout = 0.5) {
  nlohmann::json j = {{"model", {{"preset", "small"}, {"dropout", dropout}}},
                      {"height", 37}, {"width", 37},
                      {"batch_size_train", 7}, {"batch_size_val", 3},
                      {"contrastive_loss", {{"n_outliers", 3}, {"n_outliers_val", 2}, {"dtheta", 2.1}}},
                      {"learning_rate", 0.002}, {"epochs", epochs}, {"device", "cpu"}, {"seed", 9},
                      {"checkpoint_every", 3}, {"picture_every", 100}, {"progress_seconds", 1000},
                      {"path_save_model", dir + "/model"}, {"path_scratch", dir + "/scratch"}};
  return train::parse_config(j);
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct ScopedEnv {
  std::string name;
  ScopedEnv(const std::string& n, const std::string& v) : name(n) { setenv(n.c_str(), v.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name.c_str()); }
};

}  // namespace

TEST(Resume, StoppedAndResumedEqualsUninterruptedBitForBit) {
  dist::MpiCommunicator world(MPI_COMM_WORLD);
  const auto dir = shared_dir(world, "resume");
  train::Trainer straight(config(dir + "/a", 9), "", {}, world, torch::kCPU);
  ASSERT_EQ(straight.run(), 0);

  {
    ScopedEnv stop("CDAE_TEST_STOP_EPOCH", "4");
    train::Trainer first(config(dir + "/b", 9), "", {}, world, torch::kCPU);
    ASSERT_EQ(first.run(), train::kExitRequeue);
    EXPECT_EQ(first.state().epoch, 4);
  }
  train::clear_stop_request();
  if (world.rank() == 0) {
    EXPECT_TRUE(std::filesystem::exists(dir + "/b/model/resume.h5"));
  }
  train::Trainer resumed(config(dir + "/b", 9), "", {}, world, torch::kCPU);
  ASSERT_EQ(resumed.run(), 0);
  EXPECT_EQ(resumed.state().epoch, 8);

  const auto a = model::state_dict(straight.model()), b = model::state_dict(resumed.model());
  for (size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(torch::equal(a[k].second, b[k].second)) << a[k].first;
  if (world.rank() == 0) {
    // The same log lines, each epoch once, and the resume state removed at the end.
    EXPECT_EQ(read(dir + "/a/model/progress.dat"), read(dir + "/b/model/progress.dat"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/b/model/resume.h5"));
    std::filesystem::remove_all(dir);
  }
  world.barrier();
}

TEST(NumericalFaults, ANonFiniteStepIsSkippedOnEveryRank) {
  dist::MpiCommunicator world(MPI_COMM_WORLD);
  const auto dir = shared_dir(world, "nan");
  // Two clean epochs: the parameters a skipped third step must leave as they are.
  train::Trainer two_epochs(config(dir + "/two", 2, 0.0), "", {}, world, torch::kCPU);
  ASSERT_EQ(two_epochs.run(), 0);
  train::Trainer three_epochs(config(dir + "/three", 3, 0.0), "", {}, world, torch::kCPU);
  ASSERT_EQ(three_epochs.run(), 0);
  {
    // Poisoned at epoch 2 (only on rank 0's objective: the summed gradient is NaN everywhere).
    ScopedEnv nan("CDAE_TEST_NAN_EPOCHS", "2");
    train::Trainer poisoned(config(dir + "/nan", 3, 0.0), "", {}, world, torch::kCPU);
    ASSERT_EQ(poisoned.run(), 0);
    EXPECT_EQ(poisoned.state().skipped_steps, 1);
    // Epochs 0 and 1 are the clean run's and epoch 2's step was skipped: the
    // parameters are exactly those after two clean epochs (the batch norm's
    // running statistics, buffers, did see epoch 2's forward pass), and differ
    // from those after three.
    const auto poisoned_params = poisoned.model().named_parameters();
    const auto after_two = two_epochs.model().named_parameters();
    const auto after_three = three_epochs.model().named_parameters();
    ASSERT_EQ(poisoned_params.size(), after_two.size());
    bool any_different_from_three = false;
    for (size_t k = 0; k < poisoned_params.size(); ++k) {
      EXPECT_TRUE(torch::equal(poisoned_params[k].value(), after_two[k].value())) << poisoned_params[k].key();
      any_different_from_three |= !torch::equal(poisoned_params[k].value(), after_three[k].value());
    }
    EXPECT_TRUE(any_different_from_three);
  }
  if (world.rank() == 0) std::filesystem::remove_all(dir);
  world.barrier();
}

TEST(NumericalFaults, TooManyConsecutiveNonFiniteStepsStopTheRunWithoutTouchingCheckpoints) {
  dist::MpiCommunicator world(MPI_COMM_WORLD);
  const auto dir = shared_dir(world, "nanstop");
  auto c = config(dir, 12, 0.0);
  c.max_nonfinite_steps = 3;
  ScopedEnv nan("CDAE_TEST_NAN_EPOCHS", "4,5,6");
  train::Trainer t(c, "", {}, world, torch::kCPU);
  try {
    t.run();
    ADD_FAILURE() << "the run went on after 3 non-finite steps";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
  if (world.rank() == 0) {
    io::H5File last(dir + "/model/last.h5", io::H5File::Mode::read);
    EXPECT_EQ(last.attr_i64("epoch"), 3);  // written at epoch 3, before the faults
    std::filesystem::remove_all(dir);
  }
  world.barrier();
}
