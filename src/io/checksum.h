// 64-bit FNV-1a over byte streams: a checksum of checkpoint tensors, so a
// truncated or bit-flipped file is detected at load time.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace cdae::io {

class Fnv1a64 {
 public:
  void update(const void* data, std::size_t bytes);
  void update(const std::string& text) { update(text.data(), text.size()); }
  std::uint64_t digest() const { return hash_; }
  std::string hex() const;  // 16 lowercase hex digits

 private:
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace cdae::io
