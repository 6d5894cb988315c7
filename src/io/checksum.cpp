#include "io/checksum.h"

namespace cdae::io {

void Fnv1a64::update(const void* data, std::size_t bytes) {
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;
  // A local copy lets the compiler keep the hash in a register for the
  // whole buffer (the member could alias `data`).
  std::uint64_t hash = hash_;
  const auto* p = static_cast<const unsigned char*>(data);
  const unsigned char* end = p + bytes;
  for (; p != end; ++p) {
    hash ^= *p;
    hash *= kPrime;
  }
  hash_ = hash;
}

std::string Fnv1a64::hex() const {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  std::uint64_t value = hash_;
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[value & 0xF];
    value >>= 4;
  }
  return out;
}

}  // namespace cdae::io
