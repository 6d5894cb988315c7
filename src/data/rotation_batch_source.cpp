#include "data/rotation_batch_source.h"

namespace cdae::data {

ShardedBatch RotationBatchSource::make(std::int64_t epoch, Stream normal_stream, std::int64_t normal,
                                       Stream defect_stream, std::int64_t defect, int rank, int world_size) const {
  ShardedBatch batch;
  batch.rank = rank;
  batch.normal_rows_per_rank = shard_sizes(normal, world_size);
  batch.defect_rows_per_rank = shard_sizes(defect, world_size);
  const auto normal_shard = even_shard(normal, rank, world_size);
  const auto defect_shard = even_shard(defect, rank, world_size);
  const int seqlen = options_.seqlen;
  auto angles = sequence_angles(options_.normal, options_.seed, epoch, static_cast<std::uint64_t>(normal_stream),
                                normal_shard, seqlen);
  const auto defect_angles = sequence_angles(options_.defect, options_.seed, epoch,
                                             static_cast<std::uint64_t>(defect_stream), defect_shard, seqlen);
  angles.insert(angles.end(), defect_angles.begin(), defect_angles.end());
  batch.input = generator_.generate(angles, normal_shard.size() + defect_shard.size(), seqlen);
  return batch;
}

ShardedBatch RotationBatchSource::train_batch(std::int64_t epoch, std::int64_t, const BatchSizes& sizes, int rank,
                                              int world_size) const {
  return make(epoch, Stream::train_normal, sizes.train_normal, Stream::train_defect, sizes.train_defect, rank,
              world_size);
}

ShardedBatch RotationBatchSource::val_batch(std::int64_t epoch, std::int64_t, const BatchSizes& sizes, int rank,
                                            int world_size) const {
  return make(epoch, Stream::val_normal, sizes.val_normal, Stream::val_defect, sizes.val_defect, rank, world_size);
}

}  // namespace cdae::data
