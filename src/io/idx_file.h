// IDX files, the MNIST format (big-endian header: magic 0x0000080D with D the
// number of dimensions, then the dimensions, then unsigned bytes), gzipped or
// not. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::io {

struct IdxArray {
  std::vector<std::int64_t> shape;  // e.g. (N) labels, (N, 28, 28) images
  std::vector<std::uint8_t> values;
};

// Reads an unsigned-byte IDX file (.gz transparently: zlib's gzread reads
// plain files too). Throws naming the file when it is missing, not IDX (bad
// magic), not unsigned bytes, truncated, or longer than its header announces.
IdxArray read_idx(const std::string& path);

}  // namespace cdae::io
