#include "train/train_step.h"

#include <numeric>

#include "dist/autograd_collectives.h"
#include "model/losses.h"
#include "train/precision.h"

namespace cdae::train {

namespace {
std::int64_t sum(const std::vector<std::int64_t>& v) { return std::accumulate(v.begin(), v.end(), std::int64_t{0}); }
}  // namespace

std::int64_t ShardedBatch::local_normal() const { return input.size(0) - local_defect(); }
std::int64_t ShardedBatch::local_defect() const { return defect_count_local; }
std::int64_t ShardedBatch::global_normal() const { return sum(normal_rows); }
std::int64_t ShardedBatch::global_defect() const { return sum(defect_rows); }

ShardedBatch make_sharded_batch(const data::RotationSequenceGenerator& generator, const BatchRequest& r, int rank,
                                int world_size) {
  ShardedBatch batch;
  batch.normal_rows = data::shard_sizes(r.normal, world_size);
  batch.defect_rows = data::shard_sizes(r.defect, world_size);
  const auto normal_shard = data::even_shard(r.normal, rank, world_size);
  const auto defect_shard = data::even_shard(r.defect, rank, world_size);
  auto angles = data::sequence_angles(r.normal_kind, r.seed, r.epoch, static_cast<std::uint64_t>(r.normal_stream),
                                      normal_shard, r.seqlen);
  const auto defect_angles = data::sequence_angles(r.defect_kind, r.seed, r.epoch,
                                                   static_cast<std::uint64_t>(r.defect_stream), defect_shard, r.seqlen);
  angles.insert(angles.end(), defect_angles.begin(), defect_angles.end());
  batch.input = generator.generate(angles, normal_shard.size() + defect_shard.size(), r.seqlen);
  batch.defect_count_local = defect_shard.size();
  return batch;
}

LossSettings loss_settings(const Config& c) {
  LossSettings s;
  s.loss_type = c.loss_type;
  s.seqlen = c.seqlen;
  s.precision = c.precision;
  s.contrastive.kind = c.contrastive.kind;
  s.contrastive.margin = c.contrastive.margin;
  s.contrastive.to_every_normal = c.contrastive.margin_to == "every";
  s.contrastive.temperature = c.contrastive.temperature;
  s.contrastive_weight = c.contrastive.weight;
  return s;
}

StepLosses batch_losses(model::SpatioTemporalAutoencoderImpl& model, dist::Communicator& comm,
                        const ShardedBatch& batch, const LossSettings& settings) {
  const auto& loss_type = settings.loss_type;
  const int seqlen = settings.seqlen;
  const double world = comm.size();
  // Data is made in float32; the parameters are float32, or float64 for checks.
  const auto dtype = model.parameters().front().scalar_type();
  const auto input = batch.input.to(dtype);
  model::AutoencoderOutput output;
  {
    AutocastScope autocast(settings.precision, input.device());
    output = model.forward(input);
  }
  // Losses in the parameters' precision whatever the precision of the pass.
  output.reconstruction = output.reconstruction.to(dtype);
  output.latent = output.latent.to(dtype);
  const auto n_local = batch.local_normal();
  const auto sse = model::squared_error_sums(output.reconstruction.narrow(0, 0, n_local), input.narrow(0, 0, n_local));
  torch::Tensor recovery;
  if (loss_type == "mse") {
    recovery = model::recovery_mse(sse, seqlen, batch.global_normal());
  } else {
    const auto all = dist::differentiable_all_gather(comm, sse, batch.normal_rows);
    recovery = model::recovery_max(all, seqlen) / world;
  }
  torch::Tensor contrastive = torch::zeros({}, recovery.options());
  if (batch.global_defect() > 0) {
    const auto x = dist::differentiable_all_gather(comm, output.latent.narrow(0, 0, n_local), batch.normal_rows);
    const auto y = dist::differentiable_all_gather(comm, output.latent.narrow(0, n_local, batch.local_defect()),
                                                   batch.defect_rows);
    contrastive = settings.contrastive_weight * model::contrastive_term(x, y, settings.contrastive) / world;
  }
  StepLosses losses;
  losses.objective = recovery + contrastive;
  losses.contributions = torch::stack({recovery.detach(), contrastive.detach()}).to(torch::kFloat64);
  losses.output = std::move(output);
  return losses;
}

void synchronize_batch_norm(model::SpatioTemporalAutoencoderImpl& model, dist::Communicator& comm) {
  if (comm.size() == 1) return;
  model.input_norm->reducer = [&comm](const torch::Tensor& t) { return dist::differentiable_all_reduce(comm, t); };
}

void broadcast_model(model::SpatioTemporalAutoencoderImpl& model, dist::Communicator& comm) {
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : model::state_dict(model)) {
    auto t = tensor.detach();
    comm.broadcast(t, 0);
  }
}

void seed_dropout(std::uint64_t seed, std::int64_t epoch, int rank) {
  torch::manual_seed(data::sample_hash(seed, static_cast<std::uint64_t>(epoch),
                                       static_cast<std::uint64_t>(data::Stream::dropout), rank, 0) >> 1);
}

}  // namespace cdae::train
