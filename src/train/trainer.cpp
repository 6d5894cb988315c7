#include "train/trainer.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "io/file_writes.h"
#include "io/progress.h"
#include "io/sequence_picture.h"
#include "model/autoencoder.h"
#include "train/from_config.h"
#include "train/run_directory.h"

namespace cdae::train {

namespace {

std::atomic<bool> g_stop{false};

std::string format_epoch_line(std::int64_t epoch, const EpochLosses& l, double loss_min) {
  char line[256];
  std::snprintf(line, sizeof line,
                "epoch %10lld  loss_t  %8.5f  loss_ct  %8.5f  loss_v  %8.5f  loss_cv  %8.5f  loss_min  %8.5f",
                static_cast<long long>(epoch), l.train, l.train_contrastive, l.val, l.val_contrastive, loss_min);
  return line;
}

std::string read_file(const std::string& path, std::string& error) {
  std::ifstream in(path);
  if (!in) {
    error = "cannot open '" + path + "'";
    return "";
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The phase a checkpoint was written in, from the config stored in it.
std::string checkpoint_phase(const CheckpointMeta& meta) {
  try {
    return parse_config(nlohmann::json::parse(meta.config_json)).phase();
  } catch (const std::exception&) {
    return "unknown";
  }
}

// Rank 0's training state to every rank: no shared file system needed.
struct StartingPoint {
  std::int64_t start = 0;  // Trainer::Start
  TrainingState state;
  std::int64_t adam_steps = 0;
};

// As float64: every value here is exact in a double (epochs and steps < 2^53).
torch::Tensor to_tensor(const StartingPoint& p) {
  return torch::tensor(std::vector<double>{static_cast<double>(p.start), static_cast<double>(p.state.epoch),
                                           p.state.loss_min, static_cast<double>(p.state.nonfinite_streak),
                                           static_cast<double>(p.state.skipped_steps),
                                           static_cast<double>(p.adam_steps)},
                       torch::kFloat64);
}

StartingPoint from_tensor(const torch::Tensor& t) {
  const auto v = t.cpu();
  const auto integer = [&](int k) { return static_cast<std::int64_t>(v[k].item<double>()); };
  StartingPoint p;
  p.start = integer(0);
  p.state.epoch = integer(1);
  p.state.loss_min = v[2].item<double>();
  p.state.nonfinite_streak = integer(3);
  p.state.skipped_steps = integer(4);
  p.adam_steps = integer(5);
  return p;
}

void broadcast_starting_point(dist::Communicator& comm, torch::Device device, StartingPoint& p) {
  auto packed = to_tensor(p).to(device);
  comm.broadcast(packed, 0);
  p = from_tensor(packed);
}

}  // namespace

void request_stop() { g_stop.store(true); }
void clear_stop_request() { g_stop.store(false); }
bool stop_requested() { return g_stop.load(); }

Trainer::Trainer(Config config, std::string config_path, std::vector<std::string> overrides,
                 dist::Communicator& comm, torch::Device device)
    : config_(std::move(config)),
      config_path_(std::move(config_path)),
      overrides_(std::move(overrides)),
      comm_(comm),
      device_(device),
      rank0_(comm.rank() == 0),
      faults_(FaultInjection::from_environment()) {
  check_fits_ranks(config_, comm_.size());
  if (rank0_ && faults_.active()) std::cout << "# fault injection active: " << faults_.describe() << std::endl;
  source_ = make_batch_source(config_, device_);
  source_->check(batch_sizes(), comm_.size());
  torch::manual_seed(config_.seed);
  model_ = make_model(config_, source_->sample_shape());
  relu_output_ = config_.model.family == "spatiotemporal" ? config_.architecture().output == "relu"
                                                            : config_.family_output() == "relu";
  model_->to(device_);
  if (config_.precision == "fp64") model_->to(torch::kFloat64);
  const auto params = model_->parameters();
  buckets_ = std::make_unique<dist::GradientBuckets>(params,
                                                     static_cast<std::size_t>(config_.dist.bucket_mb * 1024 * 1024));
  // Overlap the gradient sums with backward where the backend sums
  // asynchronously (MPI on CPU tensors, NCCL). MPI with CUDA tensors stages
  // through host memory with blocking copies, so a sum started in the
  // autograd thread would only stall it; those buckets are summed after backward.
  if (device_.is_cpu() || comm_.name() == "nccl") buckets_->overlap_with_backward(comm_);
  adam_ = std::make_unique<Adam>(params, AdamOptions{config_.learning_rate, 0.9, 0.999, 1e-8, config_.weight_decay});
  synchronize_batch_norm(*model_, comm_);
}

std::string Trainer::save_path(const std::string& name) const {
  return (std::filesystem::path(config_.path_save_model) / name).string();
}

data::BatchSizes Trainer::batch_sizes() const {
  // As the reference: no validation contrastive term in the conventional
  // phase, whatever n_outliers_val says.
  const auto& c = config_;
  return {c.batch_size_train, c.contrastive.n_outliers, c.batch_size_val,
          c.contrastive_phase() ? c.contrastive.n_outliers_val : 0};
}

Trainer::Start Trainer::restore() {
  // What this run starts from: nothing, resume.h5 (the same run, exactly where
  // it stopped), or best.h5 (the previous phase, as the reference chains them).
  StartingPoint point;
  Start start = Start::fresh;
  if (rank0_) {
    io::ensure_writable_directory(config_.path_save_model);
    io::ensure_writable_directory(config_.path_scratch);
    std::string from;
    auto present = [&](const std::string& name) {
      return std::filesystem::exists(save_path(name)) || std::filesystem::exists(save_path(name) + ".prev");
    };
    bool damaged = false;
    std::string other_phase_resume;  // a resume.h5 of another phase, skipped
    for (const auto& [name, kind] : {std::pair{"resume.h5", Start::exact_resume}, std::pair{"best.h5", Start::next_phase}}) {
      if (!present(name)) continue;
      CheckpointMeta meta;
      auto s = load_checkpoint_with_fallback(save_path(name), *model_, adam_.get(), &from, &meta);
      if (!s) {
        damaged = true;
        continue;
      }
      const auto phase = checkpoint_phase(meta);
      if (kind == Start::exact_resume && phase != config_.phase()) {
        // A resume continues only the run that wrote it: the reference starts a
        // new phase from best.h5, whatever state the previous phase stopped in.
        other_phase_resume = from;
        std::cout << "# " << from << " was written by the " << phase << " phase, but this config is the "
                  << config_.phase() << " phase: continuing from best.h5 as the reference does" << std::endl;
        continue;
      }
      point.state = *s;
      start = kind;
      break;
    }
    if (start == Start::fresh && !other_phase_resume.empty())
      throw std::runtime_error("'" + other_phase_resume + "' belongs to another phase and there is no usable best.h5 in '" +
                               config_.path_save_model + "' to start this phase from; remove '" + other_phase_resume +
                               "' to start afresh, or use the config of the run that wrote it to resume it");
    if (start == Start::fresh && damaged)
      throw std::runtime_error("no checkpoint in '" + config_.path_save_model +
                               "' could be loaded (see the warnings above); move the damaged files away to start "
                               "afresh");
    if (start == Start::next_phase) {
      point.state.loss_min = 9999.0;  // as the reference: a new phase keeps model, optimizer and epoch
      point.state.nonfinite_streak = 0;
    }
    if (start == Start::exact_resume) drop_progress_after(config_.path_save_model, point.state.epoch);
    remove_stale_temporaries(config_.path_save_model);
    if (start != Start::fresh)
      std::cout << "# " << (start == Start::exact_resume ? "resuming exactly from " : "continuing from ") << from
                << " (epoch " << point.state.epoch << ", loss_min " << point.state.loss_min << ")" << std::endl;
    point.start = static_cast<std::int64_t>(start);
    point.adam_steps = adam_->steps;
  }
  broadcast_starting_point(comm_, device_, point);
  state_ = point.state;
  adam_->steps = point.adam_steps;
  broadcast_model(*model_, comm_);
  for (size_t i = 0; i < adam_->parameters.size(); ++i) {
    comm_.broadcast(adam_->exp_avg[i], 0);
    comm_.broadcast(adam_->exp_avg_sq[i], 0);
  }
  return static_cast<Start>(point.start);
}

void Trainer::warn_if_output_is_dead(const torch::Tensor& reconstruction) {
  // A decoder ending in a ReLU can be inactive for every pixel at some
  // initialisations: no gradient reaches the model and the loss never moves.
  // (A sigmoid output cannot die.)
  if (!relu_output_) return;
  auto peak = reconstruction.detach().max().to(torch::kFloat64).reshape({1});
  comm_.all_reduce_sum(peak);
  if (rank0_ && peak.item<double>() == 0.0)
    std::cout << "# warning: the reconstruction is zero everywhere at the first epoch (the decoder's final ReLU is "
                 "inactive at this initialisation), so the model cannot learn; use --set model.output=sigmoid "
                 "(or another 'seed')"
              << std::endl;
}

void Trainer::reload_config() {
  if (config_path_.empty()) return;
  std::string error, text;
  if (rank0_) text = read_file(config_path_, error);
  comm_.broadcast_string(text, 0);
  LiveEdit edit;
  try {
    if (text.empty()) throw ConfigError(error.empty() ? "empty file" : error);
    auto j = nlohmann::json::parse(text);
    apply_overrides(j, overrides_);
    edit = merge_live_edits(config_, parse_config(j), comm_.size());
    source_->check(batch_sizes(), comm_.size());
  } catch (const std::exception& e) {
    const std::string message = e.what();
    if (rank0_ && message != last_reload_message_)
      std::cout << "# warning: config '" << config_path_ << "' was edited but cannot be used (" << message
                << "); the run goes on with the previous values" << std::endl;
    last_reload_message_ = message;
    return;
  }
  last_reload_message_.clear();
  if (edit.waiting != last_waiting_note_ && !edit.waiting.empty() && rank0_)
    std::cout << "# note: config edits outside the live keys take effect only at restart: " << edit.waiting
              << std::endl;
  last_waiting_note_ = edit.waiting;
  if (edit.changed.empty()) return;
  config_ = edit.merged;
  adam_->options.lr = config_.learning_rate;
  if (rank0_)
    for (const auto& c : edit.changed) std::cout << "# config: " << c << std::endl;
}

void Trainer::count_skipped_step(std::int64_t epoch) {
  ++state_.nonfinite_streak;
  ++state_.skipped_steps;
  if (rank0_)
    std::cout << "# warning: epoch " << epoch << ": non-finite loss or gradient, optimizer step skipped ("
              << state_.nonfinite_streak << " in a row, limit " << config_.max_nonfinite_steps << ")" << std::endl;
  if (state_.nonfinite_streak >= config_.max_nonfinite_steps)
    throw std::runtime_error(std::to_string(state_.nonfinite_streak) +
                             " consecutive non-finite steps (max_nonfinite_steps): training stopped; the last "
                             "good checkpoints in '" + config_.path_save_model + "' are untouched");
}

EpochResult Trainer::run_epoch(std::int64_t epoch) {
  const int rank = comm_.rank(), world = comm_.size();
  faults_.maybe_throw(rank, epoch);
  if (faults_.stop(epoch)) request_stop();  // as if SIGUSR1 arrived now
  const auto settings = loss_settings(config_);
  const auto sizes = batch_sizes();
  EpochResult result;

  // --- training: one step per batch
  seed_dropout(config_.seed, epoch, rank);
  const auto steps = source_->train_batches(sizes);
  for (std::int64_t k = 0; k < steps; ++k) {
    const auto batch = source_->train_batch(epoch, k, sizes, rank, world);
    const auto step = training_step(*model_, comm_, *buckets_, *adam_, batch, settings, stop_requested() ? 1.0 : 0.0,
                                    {}, faults_.poison(epoch));
    if (epoch == first_epoch_ && k == 0) warn_if_output_is_dead(step.reconstruction);
    result.stop = result.stop || step.flag_sum > 0;
    result.losses.train += step.recovery / static_cast<double>(steps);
    result.losses.train_contrastive += step.contrastive / static_cast<double>(steps);
    // Every rank sees the same sums, so all agree on skipping.
    if (step.applied)
      state_.nonfinite_streak = 0;
    else
      count_skipped_step(epoch);
  }

  // --- validation, sharded the same way
  const auto batches = source_->val_batches(sizes);
  for (std::int64_t k = 0; k < batches; ++k) {
    auto batch = source_->val_batch(epoch, k, sizes, rank, world);
    auto val = validation_batch(*model_, comm_, batch, settings);
    result.losses.val += val.recovery / static_cast<double>(batches);
    result.losses.val_contrastive += val.contrastive / static_cast<double>(batches);
    const auto latent = val.output.latent.to(torch::kFloat64);
    if (!result.latent_sums.defined()) result.latent_sums = torch::zeros({2, latent.size(1) + 1}, latent.options());
    const auto n = batch.local_normal(), m = batch.local_defect();
    result.latent_sums[0].narrow(0, 0, latent.size(1)) += latent.narrow(0, 0, n).sum(0);
    result.latent_sums[0][latent.size(1)] += static_cast<double>(n);
    result.latent_sums[1].narrow(0, 0, latent.size(1)) += latent.narrow(0, n, m).sum(0);
    result.latent_sums[1][latent.size(1)] += static_cast<double>(m);
    result.last_val_batch = std::move(batch);
    result.last_val_reconstruction = val.output.reconstruction;
  }
  return result;
}

LatentCentroids Trainer::latent_centroids(const EpochResult& result) {
  // The mean latent of the epoch's normal and defect validation samples, for
  // the latent-space score of inference.
  auto sums = result.latent_sums.clone();
  comm_.all_reduce_sum(sums);
  const auto host = sums.cpu();
  const auto d = host.size(1) - 1;
  LatentCentroids c;
  if (host[0][d].item<double>() > 0) c.normal = (host[0].narrow(0, 0, d) / host[0][d]).to(torch::kFloat32);
  if (host[1][d].item<double>() > 0) c.defect = (host[1].narrow(0, 0, d) / host[1][d]).to(torch::kFloat32);
  return c;
}

void Trainer::write_picture(std::int64_t epoch, const EpochResult& result) {
  // Samples of (C, T, H, W) or (C, H, W): channel 0 of each, its input
  // frames beside its reconstruction. Vectors have no picture.
  const auto shape = source_->sample_shape();
  if (shape.size() < 3) return;
  const int frames = shape.size() == 4 ? static_cast<int>(shape[1]) : 1;
  const auto& batch = result.last_val_batch;
  const auto n = batch.local_normal(), m = batch.local_defect();
  // Every rank takes part in the gathers; rank 0 writes. Normal samples first, then defects.
  auto gather = [&](const torch::Tensor& t) {
    return torch::cat({comm_.all_gather_rows(t.narrow(0, 0, n).contiguous(), batch.normal_rows_per_rank),
                       comm_.all_gather_rows(t.narrow(0, n, m).contiguous(), batch.defect_rows_per_rank)})
        .to(torch::kCPU, torch::kFloat32)
        .contiguous();
  };
  const auto inputs = gather(batch.input), reconstructions = gather(result.last_val_reconstruction);
  if (!rank0_) return;
  std::vector<const float*> columns;
  // At most 16 samples: a picture a person can read.
  for (std::int64_t k = 0; k < std::min<std::int64_t>(inputs.size(0), 16); ++k) {
    columns.push_back(inputs.data_ptr<float>() + k * inputs.stride(0));
    columns.push_back(reconstructions.data_ptr<float>() + k * reconstructions.stride(0));
  }
  char name[64];
  std::snprintf(name, sizeof name, "%04lld_grt-rec_%.5f.png", static_cast<long long>(epoch),
                result.losses.val + result.losses.val_contrastive);
  io::write_sequence_picture((std::filesystem::path(config_.path_scratch) / name).string(), columns, frames,
                             static_cast<int>(shape[shape.size() - 2]), static_cast<int>(shape.back()));
}

void Trainer::save(const std::string& name, const LatentCentroids& centroids) {
  CheckpointMeta meta{config_.json.dump(), config_.seed, comm_.size(), centroids.normal, centroids.defect};
  save_checkpoint(save_path(name), *model_, adam_.get(), state_, meta);
}

void Trainer::log_epoch(std::int64_t epoch, const EpochLosses& l) {
  std::cout << format_epoch_line(epoch, l, state_.loss_min) << std::endl;
  char row[160];
  std::snprintf(row, sizeof row, "%lld %.6f %.6f %.6f %.6f", static_cast<long long>(epoch), l.train, l.val,
                l.train_contrastive, l.val_contrastive);
  io::append_line(save_path("progress.dat"), row);
}

int Trainer::run() {
  restore();
  first_epoch_ = state_.epoch + 1;
  io::ProgressMeter progress(state_.epoch + 1, config_.progress_seconds);
  std::optional<EpochResult> last;
  for (std::int64_t epoch = state_.epoch + 1; epoch < config_.epochs; ++epoch) {
    reload_config();
    last = run_epoch(epoch);
    const auto& l = last->losses;
    last_losses_ = l;
    state_.epoch = epoch;
    const double val_total = l.val + l.val_contrastive;
    // The reference skips its first 10 (one-batch) epochs; an epoch over a stored dataset is a whole pass.
    const std::int64_t first_candidate = config_.data.source == "hdf5" ? 0 : 11;
    const bool new_best = epoch >= first_candidate && val_total < state_.loss_min;
    if (new_best) state_.loss_min = val_total;
    // During a streak of skipped (non-finite) steps the last good checkpoints stay as they are.
    const bool checkpoint_now =
        (epoch % config_.checkpoint_every == 0 || last->stop) && state_.nonfinite_streak == 0;

    if (rank0_) log_epoch(epoch, l);
    // Every rank computes the centroids; rank 0 writes.
    if (new_best || checkpoint_now) {
      const auto centroids = latent_centroids(*last);
      if (rank0_ && new_best) {
        save("best.h5", centroids);
        char row[96];
        std::snprintf(row, sizeof row, "%lld %.6f", static_cast<long long>(epoch), state_.loss_min);
        io::append_line(save_path("best.txt"), row);
      }
      if (rank0_ && checkpoint_now) {
        save("last.h5", centroids);
        save("resume.h5", centroids);
      }
    }
    if (epoch % config_.picture_every == 0) write_picture(epoch, *last);
    if (rank0_) {
      progress.set_interval(config_.progress_seconds);
      const auto sizes = batch_sizes();
      const auto line = progress.tick(epoch, config_.epochs,
                                      source_->train_batches(sizes) * (sizes.train_normal + sizes.train_defect));
      if (!line.empty()) std::cout << line << std::endl;
    }
    if (last->stop) {
      if (rank0_)
        std::cout << "# stop requested (signal): state of epoch " << epoch << " saved in " << save_path("resume.h5")
                  << "; run the same command again to resume" << std::endl;
      // No rank may exit before rank 0 has written resume.h5: launchers kill
      // the remaining ranks as soon as one exits.
      comm_.barrier();
      return kExitRequeue;
    }
  }
  if (last) {
    const auto centroids = latent_centroids(*last);
    if (rank0_) save("last.h5", centroids);
  }
  if (rank0_) {
    std::filesystem::remove(save_path("resume.h5"));
    std::filesystem::remove(save_path("resume.h5.prev"));
    std::cout << "# training finished at epoch " << state_.epoch << "; checkpoints in " << config_.path_save_model
              << ", pictures in " << config_.path_scratch << std::endl;
  }
  comm_.barrier();
  return 0;
}

}  // namespace cdae::train
