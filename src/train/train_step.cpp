#include "train/train_step.h"

#include <cmath>

#include "data/sample_rng.h"
#include "dist/autograd_collectives.h"
#include "model/autoencoder.h"
#include "train/precision.h"

namespace cdae::train {

LossSettings loss_settings(const Config& c) {
  LossSettings s;
  s.recovery.kind = c.loss_type;
  s.recovery.focal_gamma = c.focal.gamma;
  s.recovery.focal_alpha = c.focal.alpha;
  s.precision = c.precision;
  s.contrastive.kind = c.contrastive.kind;
  s.contrastive.margin = c.contrastive.margin;
  s.contrastive.to_every_normal = c.contrastive.margin_to == "every";
  s.contrastive.temperature = c.contrastive.temperature;
  s.contrastive_weight = c.contrastive.weight;
  s.recovery_margin = c.contrastive.recovery_margin;
  s.beta = c.model.beta;
  s.sparsity.kind = c.sparsity.kind;
  s.sparsity.weight = c.sparsity.weight;
  s.sparsity.target = c.sparsity.target;
  s.noise.kind = c.denoising.noise;
  s.noise.level = c.denoising.level;
  return s;
}

namespace {

// KL to the prior and sparsity of the normal samples' codes, as contributions
// whose sum over ranks is the batch's term.
torch::Tensor regularisers(const model::AutoencoderOutput& output, dist::Communicator& comm,
                           const data::ShardedBatch& batch, const LossSettings& settings) {
  const auto n_local = batch.local_normal();
  const double n_global = static_cast<double>(batch.global_normal());
  const auto code = output.latent.narrow(0, 0, n_local);
  auto total = torch::zeros({}, code.options());
  if (output.log_variance.defined() && settings.beta > 0)
    total = total + settings.beta *
                        model::kl_to_standard_normal(code, output.log_variance.narrow(0, 0, n_local)).sum() / n_global;
  if (settings.sparsity.kind == "l1")
    total = total + settings.sparsity.weight * model::l1_per_sample(code).sum() / n_global;
  if (settings.sparsity.kind == "kl") {
    // The mean activation is a batch statistic: summed over ranks first.
    auto sums = torch::sigmoid(code).sum(0);
    if (comm.size() > 1) sums = dist::differentiable_all_reduce(comm, sums);
    total = total + settings.sparsity.weight * model::sparsity_kl(sums / n_global, settings.sparsity.target) /
                        static_cast<double>(comm.size());
  }
  return total;
}

}  // namespace

StepLosses batch_losses(model::Autoencoder& model, dist::Communicator& comm, const data::ShardedBatch& batch,
                        const LossSettings& settings) {
  const double world = comm.size();
  // Data is made in float32; the parameters are float32, or float64 for checks.
  const auto dtype = model.parameters().front().scalar_type();
  const auto input = batch.input.to(dtype);
  const bool corrupt = model.is_training() && settings.noise.kind != "none";
  model::AutoencoderOutput output;
  {
    AutocastScope autocast(settings.precision, input.device());
    output = model.forward(corrupt ? model::corrupt(input, settings.noise) : input);
  }
  // Losses in the parameters' precision whatever the precision of the pass.
  output.reconstruction = output.reconstruction.to(dtype);
  output.latent = output.latent.to(dtype);
  if (output.log_variance.defined()) output.log_variance = output.log_variance.to(dtype);
  const auto n_local = batch.local_normal();
  // Sequences are normalised per frame, as the reference; other samples per sample.
  const int frames = input.dim() == 5 ? static_cast<int>(input.size(2)) : 1;
  const auto sums = model::recovery_element_sums(output.reconstruction.narrow(0, 0, n_local),
                                                 input.narrow(0, 0, n_local), settings.recovery);
  torch::Tensor recovery;
  if (settings.recovery.kind == "max") {
    const auto all = dist::differentiable_all_gather(comm, sums, batch.normal_rows_per_rank);
    recovery = model::recovery_max(all, frames) / world;
  } else {
    recovery = model::recovery_mse(sums, frames, batch.global_normal());
  }
  recovery = recovery + regularisers(output, comm, batch, settings);
  torch::Tensor contrastive = torch::zeros({}, recovery.options());
  if (batch.global_defect() > 0) {
    const auto x = dist::differentiable_all_gather(comm, output.latent.narrow(0, 0, n_local), batch.normal_rows_per_rank);
    const auto y = dist::differentiable_all_gather(comm, output.latent.narrow(0, n_local, batch.local_defect()),
                                                   batch.defect_rows_per_rank);
    contrastive = settings.contrastive_weight * model::contrastive_term(x, y, settings.contrastive) / world;
    if (settings.recovery_margin > 0) {
      // Each defect's own recovery loss (as inference scores it), hinged:
      // local sums over the global defect count, like the normal samples' term.
      const auto defect_sums = model::recovery_element_sums(
          output.reconstruction.narrow(0, n_local, batch.local_defect()),
          input.narrow(0, n_local, batch.local_defect()), settings.recovery);
      const auto scores = model::per_sample_loss(defect_sums, frames, settings.recovery.kind);
      contrastive = contrastive + settings.contrastive_weight * torch::relu(settings.recovery_margin - scores).sum() /
                                      static_cast<double>(batch.global_defect());
    }
  }
  StepLosses losses;
  losses.objective = recovery + contrastive;
  losses.contributions = torch::stack({recovery.detach(), contrastive.detach()}).to(torch::kFloat64);
  losses.output = std::move(output);
  return losses;
}

StepResult training_step(model::Autoencoder& model, dist::Communicator& comm, dist::GradientBuckets& buckets,
                         Adam& adam, const data::ShardedBatch& batch, const LossSettings& settings, double flag,
                         const std::function<void(StepPhase)>& after, bool poison) {
  auto mark = [&](StepPhase phase) {
    if (after) after(phase);
  };
  model.train();
  buckets.zero();
  auto losses = batch_losses(model, comm, batch, settings);
  if (poison) losses.objective = losses.objective * std::nan("");
  mark(StepPhase::forward);
  losses.objective.backward();
  mark(StepPhase::backward);
  buckets.all_reduce(comm);
  auto sums = torch::cat({losses.contributions, torch::full({1}, flag, losses.contributions.options())});
  comm.all_reduce_sum(sums);
  const auto host = sums.cpu();
  StepResult result;
  result.recovery = host[0].item<double>();
  result.contrastive = host[1].item<double>();
  result.flag_sum = host[2].item<double>();
  result.reconstruction = losses.output.reconstruction;
  result.applied = std::isfinite(result.recovery) && std::isfinite(result.contrastive) && buckets.all_finite();
  mark(StepPhase::gradient_sum);
  if (result.applied) adam.step();
  mark(StepPhase::update);
  return result;
}

ValidationResult validation_batch(model::Autoencoder& model, dist::Communicator& comm,
                                  const data::ShardedBatch& batch, const LossSettings& settings) {
  model.eval();
  torch::NoGradGuard no_grad;
  auto losses = batch_losses(model, comm, batch, settings);
  comm.all_reduce_sum(losses.contributions);
  const auto host = losses.contributions.cpu();
  return {host[0].item<double>(), host[1].item<double>(), std::move(losses.output)};
}

void synchronize_batch_norm(model::Autoencoder& model, dist::Communicator& comm) {
  auto* spatiotemporal = dynamic_cast<model::SpatioTemporalAutoencoderImpl*>(&model);
  if (comm.size() == 1 || spatiotemporal == nullptr) return;
  spatiotemporal->input_norm->reducer = [&comm](const torch::Tensor& t) {
    return dist::differentiable_all_reduce(comm, t);
  };
}

void broadcast_model(model::Autoencoder& model, dist::Communicator& comm) {
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
