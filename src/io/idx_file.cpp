#include "io/idx_file.h"

#include <zlib.h>

#include <cstdio>
#include <stdexcept>

namespace cdae::io {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw std::runtime_error("IDX file '" + path + "': " + what);
}

// gzread reads plain files too, so one path serves both.
struct GzFile {
  gzFile file;
  explicit GzFile(const std::string& path) : file(gzopen(path.c_str(), "rb")) {}
  ~GzFile() {
    if (file) gzclose(file);
  }
  bool read(void* buffer, std::size_t bytes) {
    auto* out = static_cast<unsigned char*>(buffer);
    while (bytes > 0) {
      const unsigned step = bytes > (1u << 30) ? (1u << 30) : static_cast<unsigned>(bytes);
      const int got = gzread(file, out, step);
      if (got <= 0) return false;
      out += got;
      bytes -= static_cast<std::size_t>(got);
    }
    return true;
  }
};

// 16 GiB of values: more is a corrupt header, not a data set to load in memory.
constexpr std::size_t kMaxValues = std::size_t{1} << 34;

std::uint32_t big_endian(const unsigned char* b) {
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3];
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  GzFile in(path);
  if (!in.file) refuse(path, "cannot be opened");
  unsigned char header[4];
  if (!in.read(header, 4)) refuse(path, "too short for an IDX header");
  if (header[0] != 0 || header[1] != 0) refuse(path, "not an IDX file (bad magic number)");
  if (header[2] != 0x08) {
    char type[8];
    std::snprintf(type, sizeof type, "0x%02x", header[2]);
    refuse(path, std::string("holds type ") + type + ", only unsigned bytes (0x08) are read");
  }
  const int dims = header[3];
  if (dims < 1 || dims > 4) refuse(path, "has " + std::to_string(dims) + " dimensions, expected 1 to 4");
  IdxArray array;
  std::size_t count = 1;
  for (int d = 0; d < dims; ++d) {
    unsigned char b[4];
    if (!in.read(b, 4)) refuse(path, "truncated header");
    const auto size = big_endian(b);
    array.shape.push_back(size);
    // Checked per dimension: a corrupt header must not wrap the product around.
    if (size != 0 && count > kMaxValues / size) refuse(path, "has an impossible size (corrupt header?)");
    count *= size;
  }
  array.values.resize(count);
  if (count > 0 && !in.read(array.values.data(), count))
    refuse(path, "truncated (or a corrupt .gz): the header announces " + std::to_string(count) + " values");
  // Bytes after the announced values mean the header does not describe this file.
  unsigned char extra = 0;
  if (in.read(&extra, 1))
    refuse(path, "holds more bytes than the " + std::to_string(count) + " values its header announces");
  return array;
}

}  // namespace cdae::io
