// Checkpoints as one HDF5 file (docs/design.md "Files"):
//   /model/<state_dict name>               parameters and buffers
//   /optimizer/<name>/exp_avg, /exp_avg_sq, /step   Adam state per parameter
//   /latent/normal_centroid, /latent/defect_centroid (when known)
//   root attributes: epoch, loss_min, nonfinite_streak, seed, world_size,
//   config (JSON), architecture (JSON), version, checksum.
// Written atomically (temporary file, fsync, rename; the previous file kept
// as .prev), and verified against its checksum when loaded.
#pragma once
#include <optional>
#include <string>

#include <torch/torch.h>

#include "model/autoencoder_model.h"
#include "train/adam.h"

namespace cdae::train {

struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TrainingState {
  std::int64_t epoch = -1;  // last completed epoch
  double loss_min = 9999.0;
  std::int64_t nonfinite_streak = 0;
  std::int64_t skipped_steps = 0;
};

struct CheckpointMeta {
  std::string config_json;
  std::uint64_t seed = 0;
  int world_size = 1;
  torch::Tensor normal_centroid;  // optional, (latent_size)
  torch::Tensor defect_centroid;  // optional
};

void save_checkpoint(const std::string& path, model::Autoencoder& model, const Adam* adam,
                     const TrainingState& state, const CheckpointMeta& meta);

// Loads into `model` (and `adam` when given and the file has optimizer state).
// Throws CheckpointError naming the file when it is missing, truncated,
// fails its checksum, or holds another architecture.
TrainingState load_checkpoint(const std::string& path, model::Autoencoder& model, Adam* adam,
                              CheckpointMeta* meta = nullptr);

// Tries `path`, then `path.prev`; reports a bad file on stderr and returns
// nullopt when neither loads.
std::optional<TrainingState> load_checkpoint_with_fallback(const std::string& path,
                                                           model::Autoencoder& model,
                                                           Adam* adam, std::string* loaded_from = nullptr,
                                                           CheckpointMeta* meta = nullptr);

}  // namespace cdae::train
