// The run configuration: the reference program's JSON keys (which must keep
// working unchanged, "True"/"False" strings included) plus cdae's own keys,
// each with a default. Unknown keys, wrong types and out-of-range values are
// refused with a message naming the key. Torch-free.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/architecture.h"

namespace cdae::train {

struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Config {
  // --- the reference program's keys
  int n_channels = 1;
  std::string path_save_model = "model_sav";
  std::string path_scratch = "scratch";
  int batch_size_train = 100;
  int batch_size_val = 8;
  int seqlen = 21;
  int height = 101;
  int width = 101;
  double learning_rate = 5e-4;
  std::int64_t epochs = 20000;
  std::string loss_type = "mse";  // mse | max | bce | smooth_l1 | focal
  double dtheta = 2.0;            // degrees per frame of the normal group
  struct Contrastive {
    int n_outliers = 0;  // defects per training batch; 0 = conventional phase
    int n_outliers_val = 0;
    double dtheta = 2.1;
    // cdae's keys: which term pushes the defects away (model/losses.h).
    std::string kind = "seed";        // seed (d_xx - d_xy) | margin | infonce
    double weight = 1.0;              // the term's factor in the total loss
    double margin = 0.5;              // margin: RMS distance per latent element
    std::string margin_to = "centroid";  // margin: from the normal centroid | every normal latent
    double temperature = 0.1;         // infonce
    // > 0: also push the known defects' recovery loss up to this value (a
    // hinge on their per-sample loss), so that the score itself separates them.
    double recovery_margin = 0.0;
  } contrastive;
  struct Inference {
    std::string results = "res_native";
    std::string weights = "model_sav/best.h5";
    std::string loss_type = "mse";
    int n_samples = 1000;
    bool random_seq = false;
  } inference;

  // --- cdae's keys
  std::uint64_t seed = 0;
  std::string device = "auto";     // auto | cpu | cuda
  std::string precision = "fp32";  // fp32 | tf32 | bf16 | fp64 (checks)
  struct Model {
    std::string preset = "seed";
    double dropout = 0.5;
    std::string frame_convs = "auto";  // auto (the preset's) | direct | gemm | conv2d | conv3d | im2col: how the one-frame layers are computed
    std::string deconvs = "conv_kernels";  // conv_kernels | native: how the other transposed convolutions run
    std::string memory_format = "auto";  // auto (the preset's) | contiguous | channels_last: the large activations' layout
    std::string lstm_norm = "auto";      // auto (the preset's) | none | layer
    std::string output = "auto";         // auto (the preset's; sigmoid for dense/conv) | relu | sigmoid | linear
    // The autoencoder family (model/autoencoder_model.h). The keys above
    // shape the spatio-temporal one; these the dense and convolutional ones.
    std::string family = "spatiotemporal";  // spatiotemporal | dense | conv
    std::vector<int> hidden{256};           // dense: hidden widths, input side first ([h]: simple, [h1, h2, ..]: deep)
    std::vector<int> channels{16, 32};      // conv: channels of each conv + pool stage
    int latent = 32;                        // dense/conv: latent code size
    bool variational = false;               // dense/conv: a VAE (mean and log-variance; KL term)
    double beta = 1.0;                      // VAE: weight of the KL term
  } model;
  struct Data {
    std::string source = "rotation";  // rotation (generated) | hdf5 (docs/datasets.md)
    std::string image;                // rotation: PNG path; empty = the built-in coin
    std::string path;                 // hdf5: the dataset file
  } data;
  struct Denoising {
    std::string noise = "none";  // none | gaussian | masking: corrupts the training input, the loss sees the clean one
    double level = 0.1;          // gaussian: standard deviation; masking: fraction of elements zeroed
  } denoising;
  struct Sparsity {
    std::string kind = "none";  // none | l1 (on the latent code) | kl (mean sigmoid activation towards target)
    double weight = 1e-3;
    double target = 0.05;
  } sparsity;
  struct Focal {
    double gamma = 2.0, alpha = 0.25;  // loss_type focal
  } focal;
  struct Dist {
    std::string backend = "auto";  // auto | mpi | nccl
    double bucket_mb = 25.0;
    double timeout_s = 300.0;  // a collective waiting longer ends the job (0: wait for ever)
  } dist;
  int checkpoint_every = 10;      // last.h5 + resume.h5 every this many epochs
  int picture_every = 10;         // scratch picture every this many epochs
  int max_nonfinite_steps = 5;    // consecutive skipped steps before the run stops
  double weight_decay = 1e-8;
  double progress_seconds = 10;   // seconds between progress/ETA lines

  nlohmann::json json;  // every key, defaults filled in: stored in checkpoints

  // The spatio-temporal family's architecture (model.family spatiotemporal).
  model::Architecture architecture() const;
  // model.output with "auto" resolved for the dense and convolutional families.
  std::string family_output() const { return model.output == "auto" ? "sigmoid" : model.output; }
  bool contrastive_phase() const { return contrastive.n_outliers > 0; }
  // What makes a run a phase of its own: "conventional", or the contrastive
  // term's settings. A resume.h5 continues only a run of the same phase.
  std::string phase() const;
};

// The defaults as JSON (every accepted key, nothing else).
nlohmann::json default_config_json();

// Merges `user` over the defaults, checks names, types and ranges, and
// returns the typed config. Throws ConfigError naming the key.
Config parse_config(const nlohmann::json& user);

// Applies "a.b=value" overrides to `j` (value parsed as JSON, else taken as a
// string). Throws ConfigError for a malformed override.
void apply_overrides(nlohmann::json& j, const std::vector<std::string>& overrides);

// cxxopts cuts the values of a repeated option at commas, so that
// "--set model.channels=[32,64]" arrives as "model.channels=[32" and "64]";
// this joins a piece to the one before while that one's value is a JSON list
// or object ('[' or '{' right after the '=') whose brackets, outside strings,
// are not closed yet. Other pieces are kept as they are.
std::vector<std::string> rejoin_json_lists(const std::vector<std::string>& pieces);

// Reads FILE (JSON), applies overrides, parses. Errors name the file.
Config load_config(const std::string& path, const std::vector<std::string>& overrides);

// Keys that may change while a run goes on (the file is re-read every epoch).
const std::vector<std::string>& live_keys();

// Refuses batch sizes smaller than the number of ranks: every rank needs at
// least one normal sample. Throws ConfigError naming the key.
void check_fits_ranks(const Config& config, int world_size);

// The running config with the live keys of an edited one merged in; the other
// keys keep their running values until a restart.
struct LiveEdit {
  Config merged;
  std::vector<std::string> changed;  // "key = value" per live key that changed
  std::string waiting;               // JSON diff of the edits that need a restart ("" if none)
};
// Throws ConfigError when the merged config breaks a rule (check_fits_ranks).
LiveEdit merge_live_edits(const Config& running, const Config& edited, int world_size);

}  // namespace cdae::train
