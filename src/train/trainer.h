// The training loop, run by every rank on its shard of each batch; rank 0
// alone writes logs, checkpoints and pictures.
//
// An "epoch" here is what the reference calls one: for generated rotation
// data, ONE training batch (one optimizer step) and one validation batch,
// fresh data each time; for an HDF5 dataset, a pass over the training split
// (one step per batch) and a pass over the val split. Read run() from the
// top: restore, then per epoch reload the live keys, run_epoch(), decide the
// checkpoints, write them.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "data/batch_source.h"
#include "dist/communicator.h"
#include "dist/gradient_buckets.h"
#include "model/autoencoder_model.h"
#include "train/adam.h"
#include "train/checkpoint.h"
#include "train/config.h"
#include "train/fault_injection.h"
#include "train/train_step.h"

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

// What one epoch leaves behind for the outputs of that epoch.
struct EpochResult {
  EpochLosses losses;
  bool stop = false;  // some rank was asked to stop
  // This rank's latent sums over the epoch's validation samples:
  // row 0 normal, row 1 defects; columns: the sum of latents, then the count.
  torch::Tensor latent_sums;
  // The last validation batch and its reconstruction, for the picture.
  data::ShardedBatch last_val_batch;
  torch::Tensor last_val_reconstruction;
};

struct LatentCentroids {
  torch::Tensor normal, defect;  // (latent size) float32 on the CPU, or undefined when no sample
};

class Trainer {
 public:
  // config_path is re-read every epoch (with the same overrides) when non-empty.
  Trainer(Config config, std::string config_path, std::vector<std::string> overrides, dist::Communicator& comm,
          torch::Device device);

  // Runs epochs until config.epochs. Returns 0, or kExitRequeue when stopped
  // by a signal. Throws on errors (the caller aborts the job).
  int run();

  model::Autoencoder& model() { return *model_; }
  const TrainingState& state() const { return state_; }
  const EpochLosses& last_losses() const { return last_losses_; }

 private:
  enum class Start { fresh, exact_resume, next_phase };
  Start restore();
  void reload_config();
  EpochResult run_epoch(std::int64_t epoch);
  void count_skipped_step(std::int64_t epoch);
  void warn_if_output_is_dead(const torch::Tensor& reconstruction);
  LatentCentroids latent_centroids(const EpochResult& result);  // collective
  void write_picture(std::int64_t epoch, const EpochResult& result);   // collective; rank 0 writes
  void save(const std::string& name, const LatentCentroids& centroids);  // rank 0 only
  void log_epoch(std::int64_t epoch, const EpochLosses& losses);        // rank 0 only
  std::string save_path(const std::string& name) const;
  data::BatchSizes batch_sizes() const;

  Config config_;
  std::string config_path_;
  std::vector<std::string> overrides_;
  std::string last_reload_message_;
  std::string last_waiting_note_;
  dist::Communicator& comm_;
  torch::Device device_;
  bool rank0_;
  FaultInjection faults_;
  std::unique_ptr<data::BatchSource> source_;
  std::shared_ptr<model::Autoencoder> model_;
  bool relu_output_ = false;
  std::unique_ptr<dist::GradientBuckets> buckets_;
  std::unique_ptr<Adam> adam_;
  TrainingState state_;
  std::int64_t first_epoch_ = 0;  // the first epoch this process runs
  EpochLosses last_losses_;
};

}  // namespace cdae::train
