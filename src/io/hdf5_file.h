// A small RAII layer over the HDF5 C API: the datasets and attributes cdae
// reads and writes, with errors that name the file and the object. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::io {

class H5File {
 public:
  enum class Mode { read, truncate };
  H5File(const std::string& path, Mode mode);
  ~H5File();
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  const std::string& path() const { return path_; }

  // Datasets; `name` may contain '/' (intermediate groups are created).
  // chunk_rows > 0 stores them in chunks of that many rows (first dimension).
  void write_f32(const std::string& name, const std::vector<std::int64_t>& shape, const float* data,
                 std::int64_t chunk_rows = 0);
  void write_f64(const std::string& name, const std::vector<std::int64_t>& shape, const double* data);
  void write_i64(const std::string& name, const std::vector<std::int64_t>& shape, const std::int64_t* data);
  void write_u8(const std::string& name, const std::vector<std::int64_t>& shape, const std::uint8_t* data,
                std::int64_t chunk_rows = 0);
  bool exists(const std::string& name) const;
  std::vector<std::int64_t> shape(const std::string& name) const;
  // Converts any integer or float dataset to the requested type.
  std::vector<float> read_f32(const std::string& name, std::vector<std::int64_t>* shape = nullptr) const;
  std::vector<double> read_f64(const std::string& name, std::vector<std::int64_t>* shape = nullptr) const;
  std::vector<std::int64_t> read_i64(const std::string& name, std::vector<std::int64_t>* shape = nullptr) const;
  // Rows (indices along the first dimension, ascending, no repeats) of a
  // numeric dataset as float32, read through one hyperslab selection so that
  // only those rows leave the file. Integer types are converted by value
  // (uint8 255 -> 255.0f). `shape` receives (rows.size(), the other dims...).
  std::vector<float> read_rows_f32(const std::string& name, const std::vector<std::int64_t>& rows,
                                   std::vector<std::int64_t>* shape = nullptr) const;
  // True for integer datasets, false for floating-point ones; throws for others.
  bool is_integer(const std::string& name) const;
  // Names of the direct children of a group ("/" for the root), sorted.
  std::vector<std::string> list(const std::string& group) const;

  // Attributes on the root group.
  void set_attr(const std::string& name, const std::string& value);
  void set_attr(const std::string& name, double value);
  void set_attr(const std::string& name, std::int64_t value);
  bool has_attr(const std::string& name) const;
  std::string attr_string(const std::string& name) const;
  double attr_f64(const std::string& name) const;
  std::int64_t attr_i64(const std::string& name) const;

  void flush();

 private:
  std::string path_;
  std::int64_t file_ = -1;  // hid_t
};

}  // namespace cdae::io
