// Inference: recovery loss of generated sequences of one or several kinds
// ("classes"), or of sequences stored in an HDF5 file, sharded over ranks.
// Rank 0 writes every output.
#pragma once
#include <string>
#include <vector>

#include "data/batch_plan.h"
#include "data/hdf5_dataset.h"
#include "data/rotation_sequences.h"
#include "dist/communicator.h"
#include "model/autoencoder_model.h"
#include "model/recovery_losses.h"

namespace cdae::eval {

struct ClassSpec {
  std::string label;  // "2.1", "random", ...
  data::SequenceKind kind;
  std::uint64_t stream() const;  // data stream of this class: independent of list order
};

// "2.0,2.1,1.9,random" -> specs. Throws naming the bad item.
std::vector<ClassSpec> parse_classes(const std::string& list);

struct InferenceSettings {
  std::uint64_t seed = 0;
  int seqlen = 21;
  model::RecoveryLoss recovery;  // kind = inference.loss_type
  std::int64_t n_samples = 1000;
  std::int64_t chunk = 64;  // sequences per rank per forward pass
  double progress_seconds = 10;  // between progress lines of long evaluations (rank 0)
  torch::Tensor normal_centroid, defect_centroid;  // optional, for latent distances
};

struct ClassResult {
  std::vector<double> losses;           // per sample, global order
  std::vector<double> angle0;           // first-frame angle (degrees) per sample
  std::vector<double> dist_normal;      // latent distance to the normal centroid (empty if unknown)
  std::vector<double> dist_defect;      // latent distance to the defect centroid
};

// How many per-sample pictures to write: all (the reference), or the first k
// and the k worst.
struct PicturePolicy {
  bool all = true;
  int first = 0, worst = 0;
};

// Removes the per-sample pictures an earlier run wrote into `dir`
// (`{index:06d}_{loss}.png`, nothing else), so that the folder shows this
// run's samples only, as the reference's fresh results folder does. Returns
// how many were removed.
int remove_sample_pictures(const std::string& dir);

// Evaluates n_samples sequences of one class; rank 0 writes the pictures
// `{index:06d}_{loss:.5f}.png` into picture_dir (if not empty) and, when
// print_lines, the reference line per sample. Every rank returns the results.
ClassResult evaluate_class(model::Autoencoder& model, dist::Communicator& comm,
                           const data::RotationSequenceGenerator& generator, const ClassSpec& spec,
                           const InferenceSettings& settings, const std::string& picture_dir,
                           const PicturePolicy& pictures, bool print_lines);

// Scores stored sequences (N,C,T,H,W) held by every rank; returns losses,
// reconstructions and latents (all ranks). Checks the shape against the model.
struct StoredResult {
  torch::Tensor losses, reconstructions, latents;
};
StoredResult evaluate_stored(model::Autoencoder& model, dist::Communicator& comm,
                             const torch::Tensor& sequences, const InferenceSettings& settings,
                             const std::string& source_name);

// Scores every sample of one split of an HDF5 dataset (only label 0 when
// `normal_only`), sharded over ranks: each rank reads its own rows, chunk by
// chunk. Every rank returns the results in dataset order. Rank 0 prints
// progress lines with throughput and ETA on long splits.
struct DatasetResult {
  std::vector<std::int64_t> index, label;
  std::vector<double> loss, dist_normal, dist_defect;  // distances empty without centroids
};
DatasetResult evaluate_dataset(model::Autoencoder& model, dist::Communicator& comm, const data::Hdf5Dataset& dataset,
                               data::Split split, bool normal_only, const InferenceSettings& settings);

// Rank 0 alone: pictures `top{k:03d}_row{index:06d}_{loss:.5f}.png` of the given
// dataset rows (input beside reconstruction, channel 0) into `dir`, for
// images and sequences; vectors have none. Returns how many were written.
int write_dataset_pictures(model::Autoencoder& model, const data::Hdf5Dataset& dataset,
                           const std::vector<std::int64_t>& rows, const std::vector<double>& losses,
                           const std::string& dir);

}  // namespace cdae::eval
