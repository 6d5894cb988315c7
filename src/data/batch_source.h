// Where training batches come from, as one interface: generated rotation
// sequences (data/rotation_batch_source.h) or samples stored in an HDF5
// dataset (data/hdf5_batch_source.h). Every rank asks for the same global
// batch and receives only its own rows, so 1 rank and N ranks train on the
// same global batches.
#pragma once
#include <cstdint>
#include <numeric>
#include <vector>

#include <torch/torch.h>

namespace cdae::data {

// This rank's part of one global batch: its normal (unlabelled) samples
// first, then its known defects.
struct ShardedBatch {
  torch::Tensor input;  // (local normal + local defect, sample shape...)
  std::vector<std::int64_t> normal_rows_per_rank;
  std::vector<std::int64_t> defect_rows_per_rank;
  int rank = 0;
  std::int64_t local_normal() const { return normal_rows_per_rank.at(rank); }
  std::int64_t local_defect() const { return defect_rows_per_rank.at(rank); }
  std::int64_t global_normal() const { return sum(normal_rows_per_rank); }
  std::int64_t global_defect() const { return sum(defect_rows_per_rank); }

 private:
  static std::int64_t sum(const std::vector<std::int64_t>& v) {
    return std::accumulate(v.begin(), v.end(), std::int64_t{0});
  }
};

// Global sample counts of one training or validation batch. Read from the
// config every epoch, since batch sizes may be edited while a run goes on.
struct BatchSizes {
  std::int64_t train_normal = 0, train_defect = 0;
  std::int64_t val_normal = 0, val_defect = 0;
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // One sample's shape: (D), (C, H, W) or (C, T, H, W).
  virtual std::vector<std::int64_t> sample_shape() const = 0;
  // Batches in one epoch. Generated data: 1 training and 1 validation batch
  // (an epoch of the reference); stored data: a pass over each split.
  virtual std::int64_t train_batches(const BatchSizes& sizes) const = 0;
  virtual std::int64_t val_batches(const BatchSizes& sizes) const = 0;
  // Refuses, naming the file or key, batch sizes this source cannot serve.
  virtual void check(const BatchSizes& sizes, int world_size) const = 0;
  // Batch `index` of the epoch, as a pure function of (seed, epoch, index).
  virtual ShardedBatch train_batch(std::int64_t epoch, std::int64_t index, const BatchSizes& sizes, int rank,
                                   int world_size) const = 0;
  virtual ShardedBatch val_batch(std::int64_t epoch, std::int64_t index, const BatchSizes& sizes, int rank,
                                 int world_size) const = 0;
};

}  // namespace cdae::data
