#include "data/batch_plan.h"

#include <algorithm>
#include <cstddef>

namespace cdae::data {

Shard even_shard(std::int64_t count, int rank, int world_size) {
  const std::int64_t base = count / world_size, extra = count % world_size;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::vector<std::int64_t> shard_sizes(std::int64_t count, int world_size) {
  std::vector<std::int64_t> sizes;
  for (int r = 0; r < world_size; ++r) sizes.push_back(even_shard(count, r, world_size).size());
  return sizes;
}

std::vector<double> sequence_angles(const SequenceKind& kind, std::uint64_t seed, std::int64_t epoch,
                                    std::uint64_t stream, const Shard& shard, int seqlen) {
  std::vector<double> angles;
  angles.reserve(static_cast<std::size_t>(shard.size()) * seqlen);
  for (std::int64_t index = shard.begin; index < shard.end; ++index) {
    const double angle0 = 360.0 * sample_uniform(seed, epoch, stream, index, 0);
    for (int frame = 0; frame < seqlen; ++frame)
      angles.push_back(kind.random ? 360.0 * sample_uniform(seed, epoch, stream, index, 1 + frame)
                                   : angle0 + kind.dtheta * frame);
  }
  return angles;
}

}  // namespace cdae::data
