#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "io/checksum.h"

namespace {

using cdae::io::Fnv1a64;

std::uint64_t hash_of(const std::string& text) {
  Fnv1a64 h;
  h.update(text);
  return h.digest();
}

TEST(Checksum, KnownVectors) {
  EXPECT_EQ(hash_of(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(hash_of("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(hash_of("foobar"), 0x85944171f73967e8ULL);
}

TEST(Checksum, HexIsSixteenLowercaseDigits) {
  Fnv1a64 h;
  EXPECT_EQ(h.hex(), "cbf29ce484222325");
  h.update("a");
  EXPECT_EQ(h.hex(), "af63dc4c8601ec8c");
  // A digest below 2^60 must still print 16 digits, with a leading zero.
  for (int i = 0;; ++i) {
    Fnv1a64 small;
    small.update(std::to_string(i));
    if (small.digest() >= (std::uint64_t{1} << 60)) continue;
    EXPECT_EQ(small.hex().size(), 16u);
    EXPECT_EQ(small.hex()[0], '0');
    EXPECT_EQ(std::stoull(small.hex(), nullptr, 16), small.digest());
    break;
  }
}

TEST(Checksum, IncrementalEqualsOneShot) {
  std::vector<unsigned char> bytes(100003);
  std::uint32_t state = 12345;
  for (auto& b : bytes) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<unsigned char>(state >> 24);
  }
  Fnv1a64 whole;
  whole.update(bytes.data(), bytes.size());
  for (std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{4096}, std::size_t{65536}}) {
    Fnv1a64 parts;
    for (std::size_t pos = 0; pos < bytes.size(); pos += chunk) {
      parts.update(bytes.data() + pos, std::min(chunk, bytes.size() - pos));
    }
    EXPECT_EQ(parts.digest(), whole.digest()) << "chunk " << chunk;
  }
  Fnv1a64 zero;
  zero.update(bytes.data(), 0);
  EXPECT_EQ(zero.digest(), 0xcbf29ce484222325ULL);
}

TEST(Checksum, DetectsSingleBitFlip) {
  std::string data(1 << 16, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  const auto original = hash_of(data);
  data[data.size() / 2] ^= 0x10;
  EXPECT_NE(hash_of(data), original);
}

}  // namespace
