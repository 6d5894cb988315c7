// Checkpoints: round trip of model and optimizer, detection of truncated and
// corrupted files, fallback to the previous file, architecture mismatch.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "model/autoencoder.h"
#include "train/checkpoint.h"

using namespace cdae;

namespace {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() / ("cdae_ckpt_" + std::to_string(::getpid()) + "_" +
                                                     std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

model::Architecture small() { return model::make_preset("small", 1, 21, 37, 37, 0.0); }

// A model and an optimizer that took a step, so every tensor is non-trivial.
struct Trained {
  model::SpatioTemporalAutoencoder model{small()};
  std::unique_ptr<train::Adam> adam;
  explicit Trained(int seed) {
    torch::manual_seed(seed);
    model = model::SpatioTemporalAutoencoder(small());
    adam = std::make_unique<train::Adam>(model->parameters(), train::AdamOptions{});
    model->forward(torch::rand({2, 1, 21, 37, 37})).reconstruction.square().mean().backward();
    adam->step();
  }
};

void expect_equal_models(model::SpatioTemporalAutoencoderImpl& a, model::SpatioTemporalAutoencoderImpl& b) {
  const auto x = model::state_dict(a), y = model::state_dict(b);
  ASSERT_EQ(x.size(), y.size());
  for (size_t k = 0; k < x.size(); ++k) EXPECT_TRUE(torch::equal(x[k].second, y[k].second)) << x[k].first;
}

}  // namespace

TEST(Checkpoint, RoundTripRestoresModelOptimizerAndState) {
  TempDir dir;
  Trained source(1);
  train::TrainingState state{42, 3.25, 1, 2};
  train::CheckpointMeta meta{"{\"seed\": 7}", 7, 3, torch::rand({small().latent_size()}), torch::rand({small().latent_size()})};
  train::save_checkpoint(dir.file("c.h5"), *source.model, source.adam.get(), state, meta);

  Trained target(2);
  train::CheckpointMeta loaded_meta;
  const auto loaded = train::load_checkpoint(dir.file("c.h5"), *target.model, target.adam.get(), &loaded_meta);
  expect_equal_models(*source.model, *target.model);
  EXPECT_EQ(target.adam->steps, 1);
  for (size_t i = 0; i < source.adam->exp_avg.size(); ++i) {
    EXPECT_TRUE(torch::equal(source.adam->exp_avg[i], target.adam->exp_avg[i]));
    EXPECT_TRUE(torch::equal(source.adam->exp_avg_sq[i], target.adam->exp_avg_sq[i]));
  }
  EXPECT_EQ(loaded.epoch, 42);
  EXPECT_DOUBLE_EQ(loaded.loss_min, 3.25);
  EXPECT_EQ(loaded.nonfinite_streak, 1);
  EXPECT_EQ(loaded.skipped_steps, 2);
  EXPECT_EQ(loaded_meta.seed, 7u);
  EXPECT_EQ(loaded_meta.world_size, 3);
  EXPECT_EQ(loaded_meta.config_json, "{\"seed\": 7}");
  EXPECT_TRUE(torch::equal(loaded_meta.normal_centroid, meta.normal_centroid));
}

TEST(Checkpoint, TruncationAtAnyOffsetIsDetected) {
  TempDir dir;
  Trained source(3);
  train::save_checkpoint(dir.file("c.h5"), *source.model, source.adam.get(), {5, 1.0, 0, 0}, {});
  std::ifstream in(dir.file("c.h5"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::mt19937 rng(99);
  for (int trial = 0; trial < 25; ++trial) {
    const size_t cut = rng() % bytes.size();
    std::ofstream(dir.file("t.h5"), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
    Trained target(4);
    EXPECT_THROW(train::load_checkpoint(dir.file("t.h5"), *target.model, target.adam.get()), train::CheckpointError)
        << "truncated at " << cut << " of " << bytes.size();
  }
}

TEST(Checkpoint, FlippedBytesInTensorDataAreDetectedAndLeaveTheModelUntouched) {
  TempDir dir;
  Trained source(5);
  train::save_checkpoint(dir.file("c.h5"), *source.model, source.adam.get(), {5, 1.0, 0, 0}, {});
  std::fstream f(dir.file("c.h5"), std::ios::binary | std::ios::in | std::ios::out);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  // Flip a byte in the middle of the file, where tensor data dominates.
  const size_t at = bytes.size() / 2;
  f.seekp(static_cast<std::streamoff>(at));
  f.put(static_cast<char>(bytes[at] ^ 0x5a));
  f.close();
  Trained target(6), untouched(6);
  EXPECT_THROW(train::load_checkpoint(dir.file("c.h5"), *target.model, target.adam.get()), train::CheckpointError);
  expect_equal_models(*target.model, *untouched.model);
}

TEST(Checkpoint, FallsBackToThePreviousFileWhenTheNewestIsDamaged) {
  TempDir dir;
  Trained first(7), second(8);
  train::save_checkpoint(dir.file("c.h5"), *first.model, first.adam.get(), {10, 1.0, 0, 0}, {});
  train::save_checkpoint(dir.file("c.h5"), *second.model, second.adam.get(), {20, 1.0, 0, 0}, {});
  ASSERT_TRUE(std::filesystem::exists(dir.file("c.h5.prev")));
  std::filesystem::resize_file(dir.file("c.h5"), 1000);
  Trained target(9);
  std::string from;
  const auto state = train::load_checkpoint_with_fallback(dir.file("c.h5"), *target.model, target.adam.get(), &from);
  ASSERT_TRUE(state.has_value());
  EXPECT_EQ(state->epoch, 10);
  EXPECT_EQ(from, dir.file("c.h5.prev"));
  expect_equal_models(*target.model, *first.model);
}

TEST(Checkpoint, AnotherArchitectureIsRefusedByName) {
  TempDir dir;
  Trained source(10);
  train::save_checkpoint(dir.file("c.h5"), *source.model, nullptr, {1, 1.0, 0, 0}, {});
  model::SpatioTemporalAutoencoder seed(model::make_preset("seed", 1, 21, 101, 101, 0.5));
  try {
    train::load_checkpoint(dir.file("c.h5"), *seed, nullptr);
    FAIL() << "a small-preset checkpoint loaded into the seed model";
  } catch (const train::CheckpointError& e) {
    EXPECT_NE(std::string(e.what()).find("another architecture"), std::string::npos) << e.what();
  }
  EXPECT_THROW(train::load_checkpoint(dir.file("missing.h5"), *seed, nullptr), train::CheckpointError);
}

TEST(Checkpoint, AFailingWriteKeepsTheOldFile) {
  TempDir dir;
  Trained first(11);
  train::save_checkpoint(dir.file("c.h5"), *first.model, first.adam.get(), {10, 1.0, 0, 0}, {});
  // A directory where the temporary file would go makes the write fail.
  std::filesystem::create_directories(dir.file("blocked"));
  std::filesystem::create_directories(dir.file("blocked/c.h5.tmp." + std::to_string(::getpid())));
  std::filesystem::copy_file(dir.file("c.h5"), dir.file("blocked/c.h5"));
  Trained second(12);
  EXPECT_ANY_THROW(train::save_checkpoint(dir.file("blocked/c.h5"), *second.model, second.adam.get(), {20, 1.0, 0, 0}, {}));
  Trained target(13);
  EXPECT_EQ(train::load_checkpoint(dir.file("blocked/c.h5"), *target.model, nullptr).epoch, 10);
}
