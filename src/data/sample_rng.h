// Per-sample randomness as a pure function of (seed, epoch, stream, global
// sample index, draw): a counter-based hash (SplitMix64 finaliser) instead of a
// stateful generator. The data of a run therefore does not depend on how many
// ranks share it, and a resumed run sees the same data as an uninterrupted one.
#pragma once
#include <cstdint>

namespace cdae::data {

// Streams keep training, validation and inference samples independent.
enum class Stream : std::uint64_t {
  train_normal = 1,
  train_defect = 2,
  val_normal = 3,
  val_defect = 4,
  inference = 5,  // + class index
  dropout = 100,
};

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::uint64_t sample_hash(std::uint64_t seed, std::uint64_t epoch, std::uint64_t stream,
                                 std::uint64_t index, std::uint64_t draw) {
  std::uint64_t h = splitmix64(seed);
  h = splitmix64(h ^ epoch);
  h = splitmix64(h ^ stream);
  h = splitmix64(h ^ index);
  return splitmix64(h ^ draw);
}

// Uniform in [0, 1) with 53 random bits.
inline double sample_uniform(std::uint64_t seed, std::uint64_t epoch, std::uint64_t stream,
                             std::uint64_t index, std::uint64_t draw) {
  return static_cast<double>(sample_hash(seed, epoch, stream, index, draw) >> 11) * 0x1.0p-53;
}

}  // namespace cdae::data
