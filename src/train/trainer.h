// The training loop of the reference, run by every rank on its shard of each
// batch; rank 0 alone writes logs, checkpoints and pictures.
#pragma once
#include <string>
#include <vector>

#include "data/rotation_sequences.h"
#include "dist/communicator.h"
#include "dist/gradient_buckets.h"
#include "model/autoencoder.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "io/progress.h"

namespace cdae::train {

// Exit status of a run stopped by SIGUSR1/SIGTERM after writing resume.h5
// (EX_TEMPFAIL): the job scripts requeue on it.
constexpr int kExitRequeue = 75;

// Called from a signal handler: the run stops after the current epoch.
void request_stop();
bool stop_requested();
void clear_stop_request();  // for tests that stop and resume in one process

struct EpochLosses {
  double train = 0, train_contrastive = 0, val = 0, val_contrastive = 0;
};

class Trainer {
 public:
  // config_path is re-read every epoch (with the same overrides) when non-empty.
  Trainer(Config config, std::string config_path, std::vector<std::string> overrides, dist::Communicator& comm,
          torch::Device device);

  // Runs epochs until config.epochs. Returns 0, or kExitRequeue when stopped
  // by a signal. Throws on errors (the caller aborts the job).
  int run();

  model::SpatioTemporalAutoencoderImpl& model() { return *model_; }
  const TrainingState& state() const { return state_; }
  const EpochLosses& last_losses() const { return last_; }

 private:
  void restore();
  void drop_progress_after(std::int64_t epoch);
  void remove_stale_temporaries();
  void warn_if_output_is_dead(const torch::Tensor& reconstruction);
  void reload_config();
  EpochLosses run_epoch(std::int64_t epoch, bool& stop);
  void write_outputs(std::int64_t epoch, const EpochLosses& losses, bool new_best, bool checkpoint_now);
  void save(const std::string& name);
  void write_picture(std::int64_t epoch, double loss);
  std::string save_path(const std::string& name) const;

  Config config_;
  std::string config_path_;
  std::vector<std::string> overrides_;
  std::string last_reload_message_;
  std::string last_ignored_note_;
  dist::Communicator& comm_;
  torch::Device device_;
  bool rank0_;
  data::RotationSequenceGenerator generator_;
  model::SpatioTemporalAutoencoder model_{nullptr};
  std::unique_ptr<dist::GradientBuckets> buckets_;
  std::unique_ptr<Adam> adam_;
  TrainingState state_;
  std::int64_t first_epoch_ = 0;  // the first epoch this process runs
  EpochLosses last_;
  // Validation pieces kept for pictures and latent centroids.
  torch::Tensor val_input_, val_reconstruction_, val_latent_;
  std::int64_t val_local_normal_ = 0;
  std::vector<std::int64_t> val_normal_rows_, val_defect_rows_;
};

}  // namespace cdae::train
