// Training and validation batches from an HDF5 dataset (docs/datasets.md).
// An epoch is a pass over the unlabelled training samples in a fresh order
// (a pure function of seed and epoch) in batches of `train_normal`, each with
// `train_defect` known defects drawn from the labelled ones; validation is a
// pass over the val split in file order. Each rank reads its own rows only.
#pragma once
#include <string>

#include "data/batch_source.h"
#include "data/hdf5_dataset.h"

namespace cdae::data {

class Hdf5BatchSource : public BatchSource {
 public:
  Hdf5BatchSource(Hdf5Dataset dataset, std::uint64_t seed, torch::Device device);

  std::vector<std::int64_t> sample_shape() const override { return dataset_.sample_shape(); }
  std::int64_t train_batches(const BatchSizes& sizes) const override;
  std::int64_t val_batches(const BatchSizes& sizes) const override;
  ShardedBatch train_batch(std::int64_t epoch, std::int64_t index, const BatchSizes& sizes, int rank,
                           int world_size) const override;
  ShardedBatch val_batch(std::int64_t epoch, std::int64_t index, const BatchSizes& sizes, int rank,
                         int world_size) const override;

  // Refuses, naming the file, batch sizes this dataset cannot serve (e.g.
  // known defects asked for but none labelled in the train split).
  void check(const BatchSizes& sizes, int world_size) const override;
  const Hdf5Dataset& dataset() const { return dataset_; }

 private:
  ShardedBatch assemble(const std::vector<std::int64_t>& normal, const std::vector<std::int64_t>& defect, int rank,
                        int world_size) const;
  // The epoch's orders of the unlabelled pool and of the labelled defects,
  // computed at its first batch and kept for the others (a sort each).
  struct EpochOrder {
    std::int64_t epoch = -1;
    std::vector<std::int64_t> pool, defects;
  };
  const EpochOrder& order_of(std::int64_t epoch) const;

  Hdf5Dataset dataset_;
  std::uint64_t seed_;
  torch::Device device_;
  std::vector<std::int64_t> train_pool_, train_defects_, val_normal_, val_defects_;
  mutable EpochOrder order_;  // a cache: batches are drawn from one thread
};

// The indices 0..n-1 in an order that is a pure function of (seed, epoch, stream).
std::vector<std::int64_t> epoch_permutation(std::int64_t n, std::uint64_t seed, std::int64_t epoch,
                                            std::uint64_t stream);

}  // namespace cdae::data
