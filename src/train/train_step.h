// One training step and one validation batch, as every rank runs them
// (docs/design.md "One training step, N ranks"): the loss terms whose sum over
// ranks is the single-process loss, backward, the gradient sum, and the
// optimizer step. cdae-train and cdae-bench both call training_step().
#pragma once
#include <functional>
#include <string>

#include <torch/torch.h>

#include "data/batch_source.h"
#include "dist/communicator.h"
#include "dist/gradient_buckets.h"
#include "model/autoencoder_model.h"
#include "model/losses.h"
#include "model/recovery_losses.h"
#include "model/regularisers.h"
#include "train/adam.h"
#include "train/config.h"

namespace cdae::train {

// How a batch's loss is made.
struct LossSettings {
  model::RecoveryLoss recovery;            // mse | max | bce | smooth_l1 | focal
  std::string precision = "fp32";          // of the forward pass
  model::ContrastiveSettings contrastive;  // pushes the known defects away
  double contrastive_weight = 1.0;
  double recovery_margin = 0.0;            // > 0: the defects' recovery loss pushed up to it (hinge)
  double beta = 1.0;                       // KL weight, for models that give a log-variance (VAE)
  model::SparsitySettings sparsity;
  model::NoiseSettings noise;              // denoising: applied in training mode only
};
LossSettings loss_settings(const Config& config);

// The loss of one batch on this rank.
struct StepLosses {
  torch::Tensor objective;  // what this rank back-propagates
  // [recovery + regularisers, contrastive] contributions whose sum over ranks
  // is the global value (detached, float64).
  torch::Tensor contributions;
  model::AutoencoderOutput output;
};

// With grad enabled, the contrastive, "max" and KL-sparsity terms see every
// rank's data through differentiable collectives and are scaled by 1/N, so the
// summed gradient is the single-process gradient.
StepLosses batch_losses(model::Autoencoder& model, dist::Communicator& comm, const data::ShardedBatch& batch,
                        const LossSettings& settings);

enum class StepPhase { forward, backward, gradient_sum, update };

struct StepResult {
  double recovery = 0, contrastive = 0;  // global values
  double flag_sum = 0;                   // the sum over ranks of each rank's `flag`
  bool applied = false;                  // false: a non-finite loss or gradient, step skipped
  torch::Tensor reconstruction;          // this rank's, for checks
};

// Forward, losses, backward, gradient sum, and the Adam step when every loss
// and gradient is finite (all ranks agree, they see the same sums). `flag`
// is summed over ranks with the losses, so a stop request costs no extra
// collective. `after` is called after each phase (cdae-bench times them);
// `poison` multiplies the objective by NaN (fault-injection tests).
StepResult training_step(model::Autoencoder& model, dist::Communicator& comm, dist::GradientBuckets& buckets,
                         Adam& adam, const data::ShardedBatch& batch, const LossSettings& settings, double flag = 0,
                         const std::function<void(StepPhase)>& after = {}, bool poison = false);

// One validation batch (no grad): global [recovery, contrastive] and this rank's output.
struct ValidationResult {
  double recovery = 0, contrastive = 0;
  model::AutoencoderOutput output;
};
ValidationResult validation_batch(model::Autoencoder& model, dist::Communicator& comm,
                                  const data::ShardedBatch& batch, const LossSettings& settings);

// Connects a spatio-temporal model's input batch norm to the other ranks
// (no-op for one rank and for families without one).
void synchronize_batch_norm(model::Autoencoder& model, dist::Communicator& comm);

// Rank 0's parameters and buffers to every rank.
void broadcast_model(model::Autoencoder& model, dist::Communicator& comm);

// Re-seeds dropout, VAE sampling and denoising noise from (seed, epoch, rank):
// the random state is a pure function of the epoch, so a resumed run draws
// the same masks.
void seed_dropout(std::uint64_t seed, std::int64_t epoch, int rank);

}  // namespace cdae::train
