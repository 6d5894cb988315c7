#include "train/trainer.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "data/sequence_tensor.h"
#include "io/atomic_file.h"
#include "io/sequence_picture.h"
#include "train/train_step.h"

namespace cdae::train {

namespace {

std::atomic<bool> g_stop{false};

// Test hooks (environment): CDAE_TEST_NAN_EPOCHS="5,6" poisons the loss at
// those epochs; CDAE_TEST_THROW="rank:epoch" throws on that rank and epoch.
bool env_lists_epoch(const char* var, std::int64_t epoch) {
  const char* v = std::getenv(var);
  if (!v) return false;
  std::stringstream s(v);
  std::string item;
  while (std::getline(s, item, ','))
    if (!item.empty() && std::stoll(item) == epoch) return true;
  return false;
}
void maybe_throw_for_test(int rank, std::int64_t epoch) {
  const char* v = std::getenv("CDAE_TEST_THROW");
  if (!v) return;
  int r = -1;
  long long e = -1;
  if (std::sscanf(v, "%d:%lld", &r, &e) == 2 && r == rank && e == epoch)
    throw std::runtime_error("test hook CDAE_TEST_THROW: rank " + std::to_string(rank) + " fails at epoch " +
                             std::to_string(epoch));
}

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
      generator_(data::source_image(config_.data.image, config_.height, config_.width), config_.n_channels, device) {
 for (const auto& [key, value] : {std::pair{"batch_size_train", config_.batch_size_train},
                                   std::pair{"batch_size_val", config_.batch_size_val}})
    if (value < comm_.size())
      throw ConfigError("config: '" + std::string(key) + "' = " + std::to_string(value) + " is smaller than the " +
                        "number of ranks (" + std::to_string(comm_.size()) + "): every rank needs at least one " +
                        "normal sample; use fewer ranks or a larger batch");
  torch::manual_seed(config_.seed);
  model_ = model::SpatioTemporalAutoencoder(config_.architecture());
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

namespace {
// The phase a checkpoint was written in, from the config stored in it.
std::string checkpoint_phase(const CheckpointMeta& meta) {
  try {
    return parse_config(nlohmann::json::parse(meta.config_json)).phase();
  } catch (const std::exception&) {
    return "unknown";
  }
}
}  // namespace

void Trainer::restore() {
  // What this run starts from: nothing, resume.h5 (the same run, exactly where
  // it stopped), or best.h5 (the previous phase, as the reference chains them).
  enum class Start { fresh = 0, exact_resume = 1, next_phase = 2 };
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
      state_ = *s;
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
      state_.loss_min = 9999.0;  // as the reference: a new phase keeps model, optimizer and epoch
      state_.nonfinite_streak = 0;
    }
    if (start == Start::exact_resume) drop_progress_after(state_.epoch);
    remove_stale_temporaries();
    if (start != Start::fresh)
      std::cout << "# " << (start == Start::exact_resume ? "resuming exactly from " : "continuing from ") << from
                << " (epoch " << state_.epoch << ", loss_min " << state_.loss_min << ")" << std::endl;
  }
  // Everything rank 0 has goes to every rank: no shared file system needed.
  auto packed = torch::tensor({static_cast<double>(start), static_cast<double>(state_.epoch), state_.loss_min,
                               static_cast<double>(state_.nonfinite_streak),
                               static_cast<double>(state_.skipped_steps), static_cast<double>(adam_->steps)},
                              torch::TensorOptions().dtype(torch::kFloat64).device(device_));
  comm_.broadcast(packed, 0);
  const auto values = packed.cpu();
  const auto v = values.accessor<double, 1>();
  state_.epoch = static_cast<std::int64_t>(v[1]);
  state_.loss_min = v[2];
  state_.nonfinite_streak = static_cast<std::int64_t>(v[3]);
  state_.skipped_steps = static_cast<std::int64_t>(v[4]);
  adam_->steps = static_cast<std::int64_t>(v[5]);
  broadcast_model(*model_, comm_);
  for (size_t i = 0; i < adam_->parameters.size(); ++i) {
    comm_.broadcast(adam_->exp_avg[i], 0);
    comm_.broadcast(adam_->exp_avg_sq[i], 0);
  }
}

void Trainer::warn_if_output_is_dead(const torch::Tensor& reconstruction) {
  // A decoder ending in a ReLU can be inactive for every pixel at some
  // initialisations: no gradient reaches the model and the loss never moves.
  // (A sigmoid output cannot die.)
  if (model_->architecture.output != "relu") return;
  auto peak = reconstruction.detach().max().to(torch::kFloat64).reshape({1});
  comm_.all_reduce_sum(peak);
  if (rank0_ && peak.item<double>() == 0.0)
    std::cout << "# warning: the reconstruction is zero everywhere at the first epoch (the decoder's final ReLU is "
                 "inactive at this initialisation), so the model cannot learn; use --set model.output=sigmoid "
                 "(or another 'seed')"
              << std::endl;
}

void Trainer::remove_stale_temporaries() {
  // A writer killed mid-write leaves NAME.tmp.<pid>; the finished files are intact.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(config_.path_save_model, ec))
    if (entry.path().filename().string().find(".h5.tmp.") != std::string::npos) {
      std::cout << "# removing " << entry.path().string() << " (left by an interrupted write)" << std::endl;
      std::filesystem::remove(entry.path(), ec);
    }
}

void Trainer::drop_progress_after(std::int64_t epoch) {
  // A run killed between checkpoints logged epochs that the resumed run will
  // do again: keep the logs consistent with the state it resumes from.
  // best.txt too: a best checkpoint written after the last resume.h5 is found again.
  for (const char* name : {"progress.dat", "best.txt"}) {
    const auto path = save_path(name);
    std::ifstream in(path);
    if (!in) continue;
    std::string line, kept;
    while (std::getline(in, line)) {
      long long e = 0;
      if (std::sscanf(line.c_str(), "%lld", &e) == 1 && e > epoch) continue;
      kept += line + "\n";
    }
    in.close();
    io::write_text_atomically(path, kept);
  }
}

void Trainer::reload_config() {
  if (config_path_.empty()) return;
  std::string error, text;
  if (rank0_) text = read_file(config_path_, error);
  comm_.broadcast_string(text, 0);
  Config fresh;
  try {
    if (text.empty()) throw ConfigError(error.empty() ? "empty file" : error);
    auto j = nlohmann::json::parse(text);
    apply_overrides(j, overrides_);
    fresh = parse_config(j);
  } catch (const std::exception& e) {
    const std::string message = e.what();
    if (rank0_ && message != last_reload_message_)
      std::cout << "# warning: config '" << config_path_ << "' was edited but cannot be used (" << message
                << "); the run goes on with the previous values" << std::endl;
    last_reload_message_ = message;
    return;
  }
  last_reload_message_.clear();
  auto pointer = [](const std::string& key) {
    std::string p = "/" + key;
    for (auto& ch : p) if (ch == '.') ch = '/';
    return nlohmann::json::json_pointer(p);
  };
  nlohmann::json merged = config_.json;
  std::vector<std::string> changed_live;
  for (const auto& key : live_keys()) {
    const auto ptr = pointer(key);
    if (fresh.json.at(ptr) != merged.at(ptr)) {
      changed_live.push_back(key + " = " + fresh.json.at(ptr).dump());
      merged[ptr] = fresh.json.at(ptr);
    }
  }
  // Keys that need a restart keep their running values.
  const auto diff = nlohmann::json::diff(merged, fresh.json);
  const std::string ignored = diff.empty() ? "" : diff.dump();
  if (ignored != last_ignored_note_ && !diff.empty() && rank0_)
    std::cout << "# note: config edits outside the live keys take effect only at restart: " << ignored << std::endl;
  last_ignored_note_ = ignored;
  if (changed_live.empty()) return;
  config_ = parse_config(merged);
  adam_->options.lr = config_.learning_rate;
  if (rank0_)
    for (const auto& c : changed_live) std::cout << "# config: " << c << std::endl;
}

EpochLosses Trainer::run_epoch(std::int64_t epoch, bool& stop) {
  const auto& c = config_;
  const int rank = comm_.rank(), world = comm_.size();
  maybe_throw_for_test(rank, epoch);
  if (env_lists_epoch("CDAE_TEST_STOP_EPOCH", epoch)) request_stop();  // as if SIGUSR1 arrived now

  // --- training step
  model_->train();
  seed_dropout(c.seed, epoch, rank);
  BatchRequest train_request{c.seed, epoch, data::Stream::train_normal, {c.dtheta, false}, c.batch_size_train,
                             data::Stream::train_defect, {c.contrastive.dtheta, false}, c.contrastive.n_outliers,
                             c.seqlen};
  const auto batch = make_sharded_batch(generator_, train_request, rank, world);
  buckets_->zero();
  auto losses = batch_losses(*model_, comm_, batch, loss_settings(c));
  if (env_lists_epoch("CDAE_TEST_NAN_EPOCHS", epoch)) losses.objective = losses.objective * std::nan("");
  if (epoch == first_epoch_) warn_if_output_is_dead(losses.output.reconstruction);
  losses.objective.backward();
  buckets_->all_reduce(comm_);
  auto control = torch::cat({losses.contributions,
                             torch::full({1}, stop_requested() ? 1.0 : 0.0, losses.contributions.options())});
  comm_.all_reduce_sum(control);
  const auto host = control.cpu();
  EpochLosses result;
  result.train = host[0].item<double>();
  result.train_contrastive = host[1].item<double>();
  stop = host[2].item<double>() > 0;

  // Every rank sees the same summed losses and gradients, so all agree on skipping.
  const bool finite = std::isfinite(result.train) && std::isfinite(result.train_contrastive) && buckets_->all_finite();
  if (finite) {
    adam_->step();
    state_.nonfinite_streak = 0;
  } else {
    ++state_.nonfinite_streak;
    ++state_.skipped_steps;
    if (rank0_)
      std::cout << "# warning: epoch " << epoch << ": non-finite loss or gradient, optimizer step skipped ("
                << state_.nonfinite_streak << " in a row, limit " << c.max_nonfinite_steps << ")" << std::endl;
    if (state_.nonfinite_streak >= c.max_nonfinite_steps)
      throw std::runtime_error(std::to_string(state_.nonfinite_streak) +
                               " consecutive non-finite steps (max_nonfinite_steps): training stopped; the last "
                               "good checkpoints in '" + c.path_save_model + "' are untouched");
  }

  // --- validation, sharded the same way
  model_->eval();
  torch::NoGradGuard no_grad;
  // As the reference: no validation contrastive term in the conventional
  // phase, whatever n_outliers_val says.
  const int val_defects = c.contrastive_phase() ? c.contrastive.n_outliers_val : 0;
  BatchRequest val_request{c.seed,     epoch, data::Stream::val_normal, {c.dtheta, false}, c.batch_size_val,
                           data::Stream::val_defect, {c.contrastive.dtheta, false}, val_defects, c.seqlen};
  const auto val_batch = make_sharded_batch(generator_, val_request, rank, world);
  auto val = batch_losses(*model_, comm_, val_batch, loss_settings(c));
  comm_.all_reduce_sum(val.contributions);
  const auto val_host = val.contributions.cpu();
  result.val = val_host[0].item<double>();
  result.val_contrastive = val_host[1].item<double>();
  val_input_ = val_batch.input;
  val_reconstruction_ = val.output.reconstruction;
  val_latent_ = val.output.latent;
  val_local_normal_ = val_batch.local_normal();
  val_normal_rows_ = val_batch.normal_rows;
  val_defect_rows_ = val_batch.defect_rows;
  return result;
}

void Trainer::write_picture(std::int64_t epoch, double loss) {
  // Every rank takes part in the gathers; rank 0 writes. Normal samples first, then defects.
  const auto n = val_local_normal_, m = val_input_.size(0) - n;
  auto gather = [&](const torch::Tensor& t) {
    return torch::cat({comm_.all_gather_rows(t.narrow(0, 0, n).contiguous(), val_normal_rows_),
                       comm_.all_gather_rows(t.narrow(0, n, m).contiguous(), val_defect_rows_)})
        .to(torch::kCPU, torch::kFloat32)
        .contiguous();
  };
  const auto inputs = gather(val_input_), reconstructions = gather(val_reconstruction_);
  if (!rank0_) return;
  std::vector<const float*> columns;
  for (std::int64_t k = 0; k < inputs.size(0); ++k) {
    // Channel 0 of each sample: its input frames beside its reconstruction.
    columns.push_back(inputs.data_ptr<float>() + k * inputs.stride(0));
    columns.push_back(reconstructions.data_ptr<float>() + k * reconstructions.stride(0));
  }
  char name[64];
  std::snprintf(name, sizeof name, "%04lld_grt-rec_%.5f.png", static_cast<long long>(epoch), loss);
  io::write_sequence_picture((std::filesystem::path(config_.path_scratch) / name).string(), columns, config_.seqlen,
                             config_.height, config_.width);
}

void Trainer::save(const std::string& name) {
  // Latent centroids of this epoch's validation samples (global), for the
  // latent-space score of inference. All ranks take part.
  const auto n = val_local_normal_, m = val_latent_.size(0) - n;
  const auto d = val_latent_.size(1);
  auto sums = torch::zeros({2, d + 1}, val_latent_.options().dtype(torch::kFloat64));
  sums[0].narrow(0, 0, d).copy_(val_latent_.narrow(0, 0, n).sum(0));
  sums[0][d] = static_cast<double>(n);
  sums[1].narrow(0, 0, d).copy_(val_latent_.narrow(0, n, m).sum(0));
  sums[1][d] = static_cast<double>(m);
  comm_.all_reduce_sum(sums);
  if (!rank0_) return;
  const auto host = sums.cpu();
  CheckpointMeta meta{config_.json.dump(), config_.seed, comm_.size(), {}, {}};
  if (host[0][d].item<double>() > 0) meta.normal_centroid = (host[0].narrow(0, 0, d) / host[0][d]).to(torch::kFloat32);
  if (host[1][d].item<double>() > 0) meta.defect_centroid = (host[1].narrow(0, 0, d) / host[1][d]).to(torch::kFloat32);
  save_checkpoint(save_path(name), *model_, adam_.get(), state_, meta);
}

void Trainer::write_outputs(std::int64_t epoch, const EpochLosses& l, bool new_best, bool checkpoint_now) {
  if (rank0_) {
    std::cout << format_epoch_line(epoch, l, state_.loss_min) << std::endl;
    char row[160];
    std::snprintf(row, sizeof row, "%lld %.6f %.6f %.6f %.6f", static_cast<long long>(epoch), l.train, l.val,
                  l.train_contrastive, l.val_contrastive);
    io::append_line(save_path("progress.dat"), row);
  }
  if (new_best) {
    save("best.h5");
    if (rank0_) {
      char row[96];
      std::snprintf(row, sizeof row, "%lld %.6f", static_cast<long long>(epoch), state_.loss_min);
      io::append_line(save_path("best.txt"), row);
    }
  }
  if (epoch % config_.picture_every == 0) write_picture(epoch, l.val + l.val_contrastive);
  if (checkpoint_now) {
    save("last.h5");
    save("resume.h5");
  }
}

int Trainer::run() {
  restore();
  first_epoch_ = state_.epoch + 1;
  io::ProgressMeter progress(state_.epoch + 1, config_.progress_seconds);
  const auto samples = [&] {
    return static_cast<std::int64_t>(config_.batch_size_train + config_.contrastive.n_outliers);
  };
  bool stop = false;
  for (std::int64_t epoch = state_.epoch + 1; epoch < config_.epochs; ++epoch) {
    reload_config();
    last_ = run_epoch(epoch, stop);
    state_.epoch = epoch;
    const double val_total = last_.val + last_.val_contrastive;
    const bool new_best = epoch > 10 && val_total < state_.loss_min;
    if (new_best) state_.loss_min = val_total;
    // During a streak of skipped (non-finite) steps the last good checkpoints stay as they are.
    const bool checkpoint_now = (epoch % config_.checkpoint_every == 0 || stop) && state_.nonfinite_streak == 0;
    write_outputs(epoch, last_, new_best, checkpoint_now);
    if (rank0_) {
      progress.set_interval(config_.progress_seconds);
      const auto line = progress.tick(epoch, config_.epochs, samples());
      if (!line.empty()) std::cout << line << std::endl;
    }
    if (stop) {
      if (rank0_)
        std::cout << "# stop requested (signal): state of epoch " << epoch << " saved in " << save_path("resume.h5")
                  << "; run the same command again to resume" << std::endl;
      // No rank may exit before rank 0 has written resume.h5: launchers kill
      // the remaining ranks as soon as one exits.
      comm_.barrier();
      return kExitRequeue;
    }
  }
  if (state_.epoch >= 0 && val_latent_.defined()) save("last.h5");
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
