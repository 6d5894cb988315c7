// Which samples a rank generates, and their rotation angles.
#pragma once
#include <cstdint>
#include <vector>

#include "data/sample_rng.h"

namespace cdae::data {

// Global sample indices [begin, end) owned by one rank. Even split; when the
// count does not divide, the first ranks take one more.
struct Shard {
  std::int64_t begin = 0;
  std::int64_t end = 0;
  std::int64_t size() const { return end - begin; }
};
Shard even_shard(std::int64_t count, int rank, int world_size);
// Sizes of every rank's shard, in rank order.
std::vector<std::int64_t> shard_sizes(std::int64_t count, int world_size);

// A kind of sequence: a fixed rotation per frame, or an independent uniform
// angle per frame ("random").
struct SequenceKind {
  double dtheta = 2.0;
  bool random = false;
};

// Angles in degrees, row-major (shard.size(), seqlen): frame i of sample k is
// angle0 + dtheta * i with angle0 uniform in [0, 360) drawn from
// (seed, epoch, stream, global index), or uniform per frame for random kinds.
std::vector<double> sequence_angles(const SequenceKind& kind, std::uint64_t seed, std::int64_t epoch,
                                    std::uint64_t stream, const Shard& shard, int seqlen);

}  // namespace cdae::data
