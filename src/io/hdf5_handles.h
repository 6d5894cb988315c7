// The HDF5 C API's plumbing shared by H5File (hdf5_file.cpp) and the
// sequence-file reader (sequence_file.cpp): handles that close themselves,
// errors that name the file and say what HDF5 found wrong, and the checks
// every read makes on names, shapes and types. Internal to src/io: other
// modules use H5File and read_sequences_h5, never <hdf5.h>.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cdae::io::hdf5_detail {

// HDF5 prints a full stack trace to stderr on every failed call unless told
// not to; failures are reported through exceptions instead.
void silence_hdf5_errors();

// std::runtime_error("HDF5 file 'PATH': WHAT"); the second form appends the
// innermost reason on HDF5's error stack ("file signature not found").
[[noreturn]] void fail(const std::string& path, const std::string& what);
[[noreturn]] void fail_with_reason(const std::string& path, const std::string& what);

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, -1);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t get() const { return id_; }
  hid_t release() { return std::exchange(id_, -1); }

 private:
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = -1;
  }
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};
// A handle for `id`, or fail_with_reason(path, what) if the call that made it failed.
Handle checked(hid_t id, Handle::Closer closer, const std::string& path, const std::string& what);

// "a/b/c" -> {"a", "b", "c"}; empty parts (leading, doubled slashes) dropped.
std::vector<std::string> split_path(const std::string& name);
// True if `name` resolves to an object; false for a missing intermediate group too.
bool object_exists(hid_t file, const std::string& name);
// Opens `name`, failing unless it exists and is a dataset.
Handle open_dataset(hid_t file, const std::string& path, const std::string& name);

// The dimensions of a simple dataspace; a damaged header fails naming `name`.
std::vector<std::int64_t> dataspace_shape(hid_t space, const std::string& path, const std::string& name);
// Product of the dimensions, or -1 when it does not fit in 63 bits (a corrupt
// or hostile header) or a dimension is negative; callers turn that into an error.
std::int64_t element_count(const std::vector<std::int64_t>& shape);

// Only the standard integer and IEEE float layouts are accepted: see the .cpp.
bool is_standard_number(hid_t type);
// "uint8", "float32", "string", ... for error messages.
std::string describe_type(hid_t type);

// File access properties: file locking where the filesystem supports it.
Handle file_access_list(const std::string& path);
// Opens an existing file read-only; fails for a missing path or a directory.
Handle open_for_reading(const std::string& path);

}  // namespace cdae::io::hdf5_detail
