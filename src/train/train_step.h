// One epoch's pieces, as every rank runs them (DESIGN.md "One training step,
// N ranks"): make this rank's share of the batch, compute the loss terms whose
// sum over ranks is the single-process loss, and reduce the logged values.
#pragma once
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/batch_plan.h"
#include "data/rotation_sequences.h"
#include "dist/communicator.h"
#include "model/autoencoder.h"
#include "model/losses.h"
#include "train/config.h"

namespace cdae::train {

// This rank's part of a batch of `normal` normal sequences followed by
// `defect` defect sequences (global counts).
struct ShardedBatch {
  torch::Tensor input;                     // (local normal + local defect, C, T, H, W)
  std::vector<std::int64_t> normal_rows;   // per rank
  std::vector<std::int64_t> defect_rows;   // per rank
  std::int64_t defect_count_local = 0;
  std::int64_t local_normal() const;
  std::int64_t local_defect() const;
  std::int64_t global_normal() const;
  std::int64_t global_defect() const;
};

struct BatchRequest {
  std::uint64_t seed = 0;
  std::int64_t epoch = 0;
  data::Stream normal_stream = data::Stream::train_normal;
  data::SequenceKind normal_kind;
  std::int64_t normal = 0;
  data::Stream defect_stream = data::Stream::train_defect;
  data::SequenceKind defect_kind;
  std::int64_t defect = 0;
  int seqlen = 21;
};

ShardedBatch make_sharded_batch(const data::RotationSequenceGenerator& generator, const BatchRequest& request,
                                int rank, int world_size);

// The loss of one batch on this rank.
struct StepLosses {
  torch::Tensor objective;  // what this rank back-propagates
  // [recovery, contrastive] contributions whose sum over ranks is the global
  // value (detached).
  torch::Tensor contributions;
  model::AutoencoderOutput output;
};

// How a batch's loss is made: the recovery term, the contrastive term and its
// weight, and the precision of the forward pass.
struct LossSettings {
  std::string loss_type = "mse";
  int seqlen = 21;
  std::string precision = "fp32";
  model::ContrastiveSettings contrastive;
  double contrastive_weight = 1.0;
};
LossSettings loss_settings(const Config& config);

// With grad enabled, the contrastive and "max" terms see every rank's data
// through differentiable gathers and are scaled by 1/N, so the summed
// gradient is the single-process gradient.
StepLosses batch_losses(model::SpatioTemporalAutoencoderImpl& model, dist::Communicator& comm,
                        const ShardedBatch& batch, const LossSettings& settings);

// Connects the model's input batch norm to the other ranks (no-op for one rank).
void synchronize_batch_norm(model::SpatioTemporalAutoencoderImpl& model, dist::Communicator& comm);

// Rank 0's parameters and buffers to every rank.
void broadcast_model(model::SpatioTemporalAutoencoderImpl& model, dist::Communicator& comm);

// Re-seeds dropout from (seed, epoch, rank): the random state is a pure
// function of the epoch, so a resumed run draws the same masks.
void seed_dropout(std::uint64_t seed, std::int64_t epoch, int rank);

}  // namespace cdae::train
