#include "data/hdf5_batch_source.h"

#include <algorithm>
#include <stdexcept>

#include "data/batch_plan.h"
#include "data/sample_rng.h"

namespace cdae::data {

std::vector<std::int64_t> epoch_permutation(std::int64_t n, std::uint64_t seed, std::int64_t epoch,
                                            std::uint64_t stream) {
  // Sorting by a per-index hash: no generator state, so every rank computes
  // the same order without talking to the others.
  std::vector<std::pair<std::uint64_t, std::int64_t>> keyed(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    keyed[i] = {sample_hash(seed, static_cast<std::uint64_t>(epoch), stream, static_cast<std::uint64_t>(i), 0), i};
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[i] = keyed[i].second;
  return order;
}

Hdf5BatchSource::Hdf5BatchSource(Hdf5Dataset dataset, std::uint64_t seed, torch::Device device)
    : dataset_(std::move(dataset)), seed_(seed), device_(device) {
  train_pool_ = dataset_.indices(Split::train, [](std::int64_t label) { return label != kDefectLabel; });
  train_defects_ = dataset_.indices(Split::train, [](std::int64_t label) { return label == kDefectLabel; });
  val_normal_ = dataset_.indices(Split::val, [](std::int64_t label) { return label == kNormalLabel; });
  val_defects_ = dataset_.indices(Split::val, [](std::int64_t label) { return label == kDefectLabel; });
}

void Hdf5BatchSource::check(const BatchSizes& sizes, int world_size) const {
  const auto& path = dataset_.path();
  auto refuse = [&](const std::string& what) {
    throw std::runtime_error("dataset file '" + path + "': " + what);
  };
  if (static_cast<std::int64_t>(train_pool_.size()) < std::max<std::int64_t>(sizes.train_normal, world_size))
    refuse("the train split has " + std::to_string(train_pool_.size()) +
           " unlabelled samples, fewer than batch_size_train (" + std::to_string(sizes.train_normal) +
           ") or the number of ranks (" + std::to_string(world_size) + ")");
  if (static_cast<std::int64_t>(val_normal_.size()) < world_size)
    refuse("the val split has " + std::to_string(val_normal_.size()) + " normal samples (label 0), fewer than the " +
           std::to_string(world_size) + " ranks; re-import with a larger val fraction");
  if (sizes.train_defect > 0 && train_defects_.empty())
    refuse("contrastive_loss.n_outliers = " + std::to_string(sizes.train_defect) +
           " but the train split has no known defect (label 1); set n_outliers to 0 or import known defects");
}

std::int64_t Hdf5BatchSource::train_batches(const BatchSizes& sizes) const {
  // Full batches only: every step sees the same number of samples.
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(train_pool_.size()) / std::max<std::int64_t>(1, sizes.train_normal));
}

std::int64_t Hdf5BatchSource::val_batches(const BatchSizes& sizes) const {
  // Every val sample once per epoch, in batches of at least val_normal.
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(val_normal_.size()) / std::max<std::int64_t>(1, sizes.val_normal));
}

ShardedBatch Hdf5BatchSource::assemble(const std::vector<std::int64_t>& normal, const std::vector<std::int64_t>& defect,
                                       int rank, int world_size) const {
  ShardedBatch batch;
  batch.rank = rank;
  batch.normal_rows_per_rank = shard_sizes(static_cast<std::int64_t>(normal.size()), world_size);
  batch.defect_rows_per_rank = shard_sizes(static_cast<std::int64_t>(defect.size()), world_size);
  const auto ns = even_shard(static_cast<std::int64_t>(normal.size()), rank, world_size);
  const auto ds = even_shard(static_cast<std::int64_t>(defect.size()), rank, world_size);
  std::vector<std::int64_t> rows(normal.begin() + ns.begin, normal.begin() + ns.end);
  rows.insert(rows.end(), defect.begin() + ds.begin, defect.begin() + ds.end);
  batch.input = dataset_.read(rows).to(device_);
  return batch;
}

const Hdf5BatchSource::EpochOrder& Hdf5BatchSource::order_of(std::int64_t epoch) const {
  if (order_.epoch != epoch) {
    order_.pool = epoch_permutation(static_cast<std::int64_t>(train_pool_.size()), seed_, epoch,
                                    static_cast<std::uint64_t>(Stream::train_normal));
    order_.defects = epoch_permutation(static_cast<std::int64_t>(train_defects_.size()), seed_, epoch,
                                       static_cast<std::uint64_t>(Stream::train_defect));
    order_.epoch = epoch;
  }
  return order_;
}

ShardedBatch Hdf5BatchSource::train_batch(std::int64_t epoch, std::int64_t index, const BatchSizes& sizes, int rank,
                                          int world_size) const {
  const auto& order = order_of(epoch);
  const auto b = sizes.train_normal;
  std::vector<std::int64_t> normal, defect;
  for (std::int64_t k = index * b; k < (index + 1) * b; ++k)
    normal.push_back(train_pool_[order.pool[k % static_cast<std::int64_t>(order.pool.size())]]);
  if (!train_defects_.empty() && sizes.train_defect > 0) {
    // The labelled defects in their own per-epoch order, batch after batch,
    // starting over when they run out (there are usually few of them).
    const auto n = static_cast<std::int64_t>(train_defects_.size());
    const auto m = sizes.train_defect;
    for (std::int64_t k = index * m; k < (index + 1) * m; ++k) defect.push_back(train_defects_[order.defects[k % n]]);
  }
  return assemble(normal, defect, rank, world_size);
}

ShardedBatch Hdf5BatchSource::val_batch(std::int64_t, std::int64_t index, const BatchSizes& sizes, int rank,
                                        int world_size) const {
  const auto batches = val_batches(sizes);
  auto slice = [&](const std::vector<std::int64_t>& all) {
    const auto n = static_cast<std::int64_t>(all.size());
    return std::vector<std::int64_t>(all.begin() + index * n / batches, all.begin() + (index + 1) * n / batches);
  };
  const auto defect = sizes.val_defect > 0 ? slice(val_defects_) : std::vector<std::int64_t>{};
  return assemble(slice(val_normal_), defect, rank, world_size);
}

}  // namespace cdae::data
