#include "io/hdf5_handles.h"

#include <filesystem>
#include <limits>
#include <stdexcept>

namespace cdae::io::hdf5_detail {

namespace {

herr_t keep_innermost(unsigned /*n*/, const H5E_error2_t* error, void* out) {
  if (error->desc != nullptr && error->desc[0] != '\0') *static_cast<std::string*>(out) = error->desc;
  return 0;
}

// The innermost description on HDF5's error stack says what actually went
// wrong ("file signature not found"), the outer ones only where.
std::string hdf5_reason() {
  std::string reason;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, keep_innermost, &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason.empty() ? std::string("unknown HDF5 error") : reason;
}

std::string describe_number(hid_t type, const std::string& base) {
  return is_standard_number(type) ? base : base + " (non-standard bit layout)";
}

}  // namespace

// HDF5 prints a full stack trace to stderr on every failed call unless told
// not to; we report failures through exceptions instead.
void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("HDF5 file '" + path + "': " + what);
}

[[noreturn]] void fail_with_reason(const std::string& path, const std::string& what) {
  fail(path, what + ": " + hdf5_reason());
}

Handle checked(hid_t id, Handle::Closer closer, const std::string& path, const std::string& what) {
  if (id < 0) fail_with_reason(path, what);
  return Handle(id, closer);
}

std::vector<std::string> split_path(const std::string& name) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t slash = name.find('/', start);
    if (slash == std::string::npos) slash = name.size();
    if (slash > start) parts.push_back(name.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

// H5Lexists fails (rather than answering "no") when an intermediate group is
// missing, so the path is checked one component at a time.
bool object_exists(hid_t file, const std::string& name) {
  if (name.empty()) return false;
  std::string prefix;
  for (const std::string& part : split_path(name)) {
    prefix += "/" + part;
    if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
  }
  if (prefix.empty()) return true;  // the root group
  const htri_t resolves = H5Oexists_by_name(file, prefix.c_str(), H5P_DEFAULT);
  H5Eclear2(H5E_DEFAULT);
  return resolves > 0;
}

Handle open_dataset(hid_t file, const std::string& path, const std::string& name) {
  if (!object_exists(file, name)) fail(path, "no dataset '" + name + "'");
  Handle object = checked(H5Oopen(file, name.c_str(), H5P_DEFAULT), H5Oclose, path,
                          "cannot open '" + name + "'");
  if (H5Iget_type(object.get()) != H5I_DATASET) fail(path, "'" + name + "' is not a dataset");
  return object;
}

std::vector<std::int64_t> dataspace_shape(hid_t space, const std::string& path, const std::string& name) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail_with_reason(path, "cannot read the shape of '" + name + "'");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  std::vector<hsize_t> max_dims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), max_dims.data()) < 0) {
    fail_with_reason(path, "cannot read the shape of '" + name + "'");
  }
  std::vector<std::int64_t> shape;
  for (int d = 0; d < rank; ++d) {
    // HDF5 never writes a size beyond the maximum; a damaged header can.
    const bool beyond_max = max_dims[d] != H5S_UNLIMITED && dims[d] > max_dims[d];
    if (beyond_max || dims[d] > static_cast<hsize_t>(std::numeric_limits<std::int64_t>::max())) {
      fail(path, "dataset '" + name + "' has a damaged shape (dimension " + std::to_string(dims[d]) + ")");
    }
    shape.push_back(static_cast<std::int64_t>(dims[d]));
  }
  return shape;
}

// Element count, or nullopt-like -1 when it does not fit in 63 bits (a
// corrupt or hostile header); callers turn that into an error.
std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (std::int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<std::int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

// Only the standard integer and IEEE float layouts are accepted: a damaged
// file can describe an "integer" whose precision exceeds its size, and
// HDF5's own soft conversion then overruns its buffers (seen while fuzzing
// libhdf5 1.10). Standard types take the library's hard conversion paths.
bool is_standard_number(hid_t type) {
  // Not static: the ids are only valid while the library stays initialized.
  const hid_t standard[] = {
      H5T_STD_I8LE,  H5T_STD_I8BE,  H5T_STD_U8LE,  H5T_STD_U8BE,  H5T_STD_I16LE,  H5T_STD_I16BE,
      H5T_STD_U16LE, H5T_STD_U16BE, H5T_STD_I32LE, H5T_STD_I32BE, H5T_STD_U32LE,  H5T_STD_U32BE,
      H5T_STD_I64LE, H5T_STD_I64BE, H5T_STD_U64LE, H5T_STD_U64BE, H5T_IEEE_F32LE, H5T_IEEE_F32BE,
      H5T_IEEE_F64LE, H5T_IEEE_F64BE};
  for (hid_t candidate : standard) {
    if (H5Tequal(type, candidate) > 0) return true;
  }
  H5Eclear2(H5E_DEFAULT);
  return false;
}

std::string describe_type(hid_t type) {
  const std::size_t bits = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return describe_number(type, (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(bits));
    case H5T_FLOAT: return describe_number(type, "float" + std::to_string(bits));
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_ARRAY: return "array";
    case H5T_VLEN: return "variable-length";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_REFERENCE: return "reference";
    default: return "unknown type";
  }
}

// Cluster filesystems (Lustre, NFS, GPFS) often refuse the file locks that
// HDF5 >= 1.10 takes, which makes every open fail; keep locking where it
// works and carry on without it where the filesystem has none.
Handle file_access_list(const std::string& path) {
  Handle fapl = checked(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, path, "cannot create a property list");
#if H5_VERSION_GE(1, 10, 7)
  H5Pset_file_locking(fapl.get(), true, true);
#endif
  return fapl;
}

Handle open_for_reading(const std::string& path) {
  silence_hdf5_errors();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) fail(path, "is a directory, not a file");
  Handle fapl = file_access_list(path);
  return checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose, path, "cannot open for reading");
}

}  // namespace cdae::io::hdf5_detail
