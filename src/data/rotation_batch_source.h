// Batches of generated rotation sequences, as the reference makes them: an
// epoch is one training batch and one validation batch, each of normal
// sequences (dtheta degrees per frame) followed by defect sequences.
#pragma once
#include "data/batch_plan.h"
#include "data/batch_source.h"
#include "data/rotation_sequences.h"
#include "data/sample_rng.h"

namespace cdae::data {

struct RotationBatchOptions {
  std::uint64_t seed = 0;
  int seqlen = 21;
  SequenceKind normal{2.0, false};
  SequenceKind defect{2.1, false};
};

class RotationBatchSource : public BatchSource {
 public:
  RotationBatchSource(RotationSequenceGenerator generator, int channels, const RotationBatchOptions& options)
      : generator_(std::move(generator)), channels_(channels), options_(options) {}

  std::vector<std::int64_t> sample_shape() const override {
    return {channels_, options_.seqlen, generator_.height(), generator_.width()};
  }
  void check(const BatchSizes&, int) const override {}
  std::int64_t train_batches(const BatchSizes&) const override { return 1; }
  std::int64_t val_batches(const BatchSizes&) const override { return 1; }
  ShardedBatch train_batch(std::int64_t epoch, std::int64_t index, const BatchSizes& sizes, int rank,
                           int world_size) const override;
  ShardedBatch val_batch(std::int64_t epoch, std::int64_t index, const BatchSizes& sizes, int rank,
                         int world_size) const override;
  const RotationSequenceGenerator& generator() const { return generator_; }

 private:
  ShardedBatch make(std::int64_t epoch, Stream normal_stream, std::int64_t normal, Stream defect_stream,
                    std::int64_t defect, int rank, int world_size) const;
  RotationSequenceGenerator generator_;
  std::int64_t channels_;
  RotationBatchOptions options_;
};

}  // namespace cdae::data
