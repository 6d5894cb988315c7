#include "io/hdf5_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace cdae::io {

static_assert(std::is_same<hid_t, std::int64_t>::value,
              "H5File stores the file id as int64_t; needs HDF5 >= 1.10");

namespace {

// ------------------------------------------------------------------ errors

// HDF5 prints a full stack trace to stderr on every failed call unless told
// not to; we report failures through exceptions instead.
void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

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

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw std::runtime_error("HDF5 file '" + path + "': " + what);
}

[[noreturn]] void fail_with_reason(const std::string& path, const std::string& what) {
  fail(path, what + ": " + hdf5_reason());
}

// ------------------------------------------------------------------ handles

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

Handle checked(hid_t id, Handle::Closer closer, const std::string& path, const std::string& what) {
  if (id < 0) fail_with_reason(path, what);
  return Handle(id, closer);
}

// ------------------------------------------------------------------ names

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

// ------------------------------------------------------------------ shapes

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

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
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

Handle make_dataspace(const std::vector<std::int64_t>& shape, const std::string& path, const std::string& name) {
  if (shape.empty()) return checked(H5Screate(H5S_SCALAR), H5Sclose, path, "cannot create a scalar dataspace");
  std::vector<hsize_t> dims;
  for (std::int64_t d : shape) {
    if (d < 0) fail(path, "negative dimension in shape " + shape_string(shape) + " for '" + name + "'");
    dims.push_back(static_cast<hsize_t>(d));
  }
  return checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose, path,
                 "cannot create dataspace " + shape_string(shape) + " for '" + name + "'");
}

// ------------------------------------------------------------------ types

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

std::string describe_number(hid_t type, const std::string& base) {
  return is_standard_number(type) ? base : base + " (non-standard bit layout)";
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

bool is_numeric(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  return (cls == H5T_INTEGER || cls == H5T_FLOAT) && is_standard_number(type);
}

template <typename T> hid_t native_type();
template <> hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <> hid_t native_type<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t native_type<std::uint8_t>() { return H5T_NATIVE_UINT8; }

// Little-endian on disk whatever the host, as numpy/h5py write by default.
template <typename T> hid_t file_type();
template <> hid_t file_type<float>() { return H5T_IEEE_F32LE; }
template <> hid_t file_type<double>() { return H5T_IEEE_F64LE; }
template <> hid_t file_type<std::int64_t>() { return H5T_STD_I64LE; }
template <> hid_t file_type<std::uint8_t>() { return H5T_STD_U8LE; }

// ------------------------------------------------------------------ files

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

void require_writable(hid_t file, const std::string& path, const std::string& what) {
  unsigned intent = 0;
  if (H5Fget_intent(file, &intent) < 0) fail_with_reason(path, "cannot query the open mode");
  if ((intent & H5F_ACC_RDWR) == 0) fail(path, "cannot write " + what + ": the file is open read-only");
}

template <typename T>
void write_dataset(hid_t file, const std::string& path, const std::string& name,
                   const std::vector<std::int64_t>& shape, const T* data, std::int64_t chunk_rows = 0) {
  require_writable(file, path, "dataset '" + name + "'");
  if (split_path(name).empty()) fail(path, "invalid dataset name '" + name + "'");
  if (object_exists(file, name)) fail(path, "dataset '" + name + "' already exists");
  const std::int64_t count = element_count(shape);
  if (count < 0) fail(path, "invalid shape " + shape_string(shape) + " for dataset '" + name + "'");
  if (count > 0 && data == nullptr) fail(path, "no data given for dataset '" + name + "'");

  Handle space = make_dataspace(shape, path, name);
  Handle lcpl = checked(H5Pcreate(H5P_LINK_CREATE), H5Pclose, path, "cannot create a property list");
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  // Chunks of whole rows, so that reading a few rows touches few chunks.
  Handle dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, path, "cannot create a property list");
  if (chunk_rows > 0 && !shape.empty() && count > 0) {
    std::vector<hsize_t> chunk(shape.begin(), shape.end());
    chunk[0] = static_cast<hsize_t>(std::min(chunk_rows, shape[0]));
    if (H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) < 0)
      fail_with_reason(path, "cannot chunk dataset '" + name + "'");
  }
  Handle dset = checked(H5Dcreate2(file, name.c_str(), file_type<T>(), space.get(), lcpl.get(),
                                   dcpl.get(), H5P_DEFAULT),
                        H5Dclose, path, "cannot create dataset '" + name + "'");
  // H5Dwrite rejects a null buffer even for zero elements.
  if (count > 0 && H5Dwrite(dset.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    fail_with_reason(path, "cannot write dataset '" + name + "'");
  }
}

template <typename T>
std::vector<T> read_dataset(hid_t file, const std::string& path, const std::string& name,
                            std::vector<std::int64_t>* shape_out) {
  Handle dset = open_dataset(file, path, name);
  Handle type = checked(H5Dget_type(dset.get()), H5Tclose, path, "cannot read the type of '" + name + "'");
  if (!is_numeric(type.get())) {
    fail(path, "dataset '" + name + "' has type " + describe_type(type.get()) + ", expected a number type");
  }
  Handle space = checked(H5Dget_space(dset.get()), H5Sclose, path, "cannot read the shape of '" + name + "'");
  std::vector<std::int64_t> shape = dataspace_shape(space.get(), path, name);
  const std::int64_t count = element_count(shape);
  // 2^40 bytes is far beyond any real checkpoint; refusing earlier turns a
  // corrupt header into an error instead of an allocation failure.
  if (count < 0 || static_cast<std::uint64_t>(count) > (std::uint64_t{1} << 40) / sizeof(T)) {
    fail(path, "dataset '" + name + "' has an impossible shape " + shape_string(shape));
  }
  std::vector<T> values(static_cast<std::size_t>(count));
  if (count > 0 && H5Dread(dset.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0) {
    fail_with_reason(path, "cannot read dataset '" + name + "'");
  }
  if (shape_out != nullptr) *shape_out = std::move(shape);
  return values;
}

// ------------------------------------------------------------------ attributes

Handle open_attribute(hid_t file, const std::string& path, const std::string& name) {
  const htri_t exists = H5Aexists(file, name.c_str());
  if (exists < 0) fail_with_reason(path, "cannot look up attribute '" + name + "'");
  if (exists == 0) fail(path, "no attribute '" + name + "'");
  return checked(H5Aopen(file, name.c_str(), H5P_DEFAULT), H5Aclose, path,
                 "cannot open attribute '" + name + "'");
}

void require_single_value(hid_t attr, const std::string& path, const std::string& name) {
  Handle space = checked(H5Aget_space(attr), H5Sclose, path, "cannot read attribute '" + name + "'");
  if (H5Sget_simple_extent_npoints(space.get()) != 1) {
    fail(path, "attribute '" + name + "' holds " + std::to_string(H5Sget_simple_extent_npoints(space.get())) +
                   " values, expected one");
  }
}

// Replacing an attribute means deleting it first: H5Acreate refuses existing names.
Handle create_attribute(hid_t file, const std::string& path, const std::string& name, hid_t type) {
  require_writable(file, path, "attribute '" + name + "'");
  const htri_t exists = H5Aexists(file, name.c_str());
  if (exists < 0) fail_with_reason(path, "cannot look up attribute '" + name + "'");
  if (exists > 0 && H5Adelete(file, name.c_str()) < 0) {
    fail_with_reason(path, "cannot replace attribute '" + name + "'");
  }
  Handle space = checked(H5Screate(H5S_SCALAR), H5Sclose, path, "cannot create a scalar dataspace");
  return checked(H5Acreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose, path,
                 "cannot create attribute '" + name + "'");
}

template <typename T>
void set_numeric_attr(hid_t file, const std::string& path, const std::string& name, T value) {
  Handle attr = create_attribute(file, path, name, file_type<T>());
  if (H5Awrite(attr.get(), native_type<T>(), &value) < 0) {
    fail_with_reason(path, "cannot write attribute '" + name + "'");
  }
}

herr_t collect_name(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

}  // namespace

// ==================================================================== H5File

H5File::H5File(const std::string& path, Mode mode) : path_(path) {
  silence_hdf5_errors();
  if (mode == Mode::read) {
    file_ = open_for_reading(path).release();
    return;
  }
  Handle fapl = file_access_list(path);
  file_ = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
  if (file_ < 0) fail_with_reason(path, "cannot create");
}

H5File::~H5File() {
  if (file_ >= 0) H5Fclose(file_);
}

void H5File::write_f32(const std::string& name, const std::vector<std::int64_t>& shape, const float* data,
                       std::int64_t chunk_rows) {
  write_dataset(file_, path_, name, shape, data, chunk_rows);
}
void H5File::write_f64(const std::string& name, const std::vector<std::int64_t>& shape, const double* data) {
  write_dataset(file_, path_, name, shape, data);
}
void H5File::write_i64(const std::string& name, const std::vector<std::int64_t>& shape,
                       const std::int64_t* data) {
  write_dataset(file_, path_, name, shape, data);
}
void H5File::write_u8(const std::string& name, const std::vector<std::int64_t>& shape,
                      const std::uint8_t* data, std::int64_t chunk_rows) {
  write_dataset(file_, path_, name, shape, data, chunk_rows);
}

bool H5File::exists(const std::string& name) const { return object_exists(file_, name); }

std::vector<std::int64_t> H5File::shape(const std::string& name) const {
  Handle dset = open_dataset(file_, path_, name);
  Handle space = checked(H5Dget_space(dset.get()), H5Sclose, path_, "cannot read the shape of '" + name + "'");
  return dataspace_shape(space.get(), path_, name);
}

std::vector<float> H5File::read_f32(const std::string& name, std::vector<std::int64_t>* shape) const {
  return read_dataset<float>(file_, path_, name, shape);
}
std::vector<double> H5File::read_f64(const std::string& name, std::vector<std::int64_t>* shape) const {
  return read_dataset<double>(file_, path_, name, shape);
}
std::vector<std::int64_t> H5File::read_i64(const std::string& name, std::vector<std::int64_t>* shape) const {
  return read_dataset<std::int64_t>(file_, path_, name, shape);
}

bool H5File::is_integer(const std::string& name) const {
  Handle dset = open_dataset(file_, path_, name);
  Handle type = checked(H5Dget_type(dset.get()), H5Tclose, path_, "cannot read the type of '" + name + "'");
  if (!is_numeric(type.get()))
    fail(path_, "dataset '" + name + "' has type " + describe_type(type.get()) + ", expected a number type");
  return H5Tget_class(type.get()) == H5T_INTEGER;
}

std::vector<float> H5File::read_rows_f32(const std::string& name, const std::vector<std::int64_t>& rows,
                                         std::vector<std::int64_t>* shape_out) const {
  Handle dset = open_dataset(file_, path_, name);
  Handle type = checked(H5Dget_type(dset.get()), H5Tclose, path_, "cannot read the type of '" + name + "'");
  if (!is_numeric(type.get()))
    fail(path_, "dataset '" + name + "' has type " + describe_type(type.get()) + ", expected a number type");
  Handle space = checked(H5Dget_space(dset.get()), H5Sclose, path_, "cannot read the shape of '" + name + "'");
  auto shape = dataspace_shape(space.get(), path_, name);
  if (shape.empty()) fail(path_, "dataset '" + name + "' is a scalar, expected rows");
  for (std::size_t k = 0; k < rows.size(); ++k)
    if (rows[k] < 0 || rows[k] >= shape[0] || (k > 0 && rows[k] <= rows[k - 1]))
      fail(path_, "dataset '" + name + "': row " + std::to_string(rows[k]) + " out of range or out of order (" +
                      std::to_string(shape[0]) + " rows)");
  shape[0] = static_cast<std::int64_t>(rows.size());
  std::vector<float> values(static_cast<std::size_t>(element_count(shape)));
  if (shape_out != nullptr) *shape_out = shape;
  if (rows.empty() || values.empty()) return values;
  // One hyperslab per run of consecutive rows, OR-ed together.
  std::vector<hsize_t> start(shape.size(), 0), count(shape.begin(), shape.end());
  H5Sselect_none(space.get());
  for (std::size_t k = 0; k < rows.size();) {
    std::size_t end = k + 1;
    while (end < rows.size() && rows[end] == rows[end - 1] + 1) ++end;
    start[0] = static_cast<hsize_t>(rows[k]);
    count[0] = static_cast<hsize_t>(end - k);
    if (H5Sselect_hyperslab(space.get(), H5S_SELECT_OR, start.data(), nullptr, count.data(), nullptr) < 0)
      fail_with_reason(path_, "cannot select rows of '" + name + "'");
    k = end;
  }
  std::vector<hsize_t> memory_dims(shape.begin(), shape.end());
  Handle memory = checked(H5Screate_simple(static_cast<int>(memory_dims.size()), memory_dims.data(), nullptr),
                          H5Sclose, path_, "cannot describe rows of '" + name + "'");
  if (H5Dread(dset.get(), H5T_NATIVE_FLOAT, memory.get(), space.get(), H5P_DEFAULT, values.data()) < 0)
    fail_with_reason(path_, "cannot read rows of dataset '" + name + "'");
  return values;
}

std::vector<std::string> H5File::list(const std::string& group) const {
  if (!object_exists(file_, group)) fail(path_, "no group '" + group + "'");
  Handle object = checked(H5Oopen(file_, group.c_str(), H5P_DEFAULT), H5Oclose, path_,
                          "cannot open '" + group + "'");
  if (H5Iget_type(object.get()) != H5I_GROUP) fail(path_, "'" + group + "' is not a group");
  std::vector<std::string> names;
  hsize_t index = 0;
  if (H5Literate(object.get(), H5_INDEX_NAME, H5_ITER_NATIVE, &index, collect_name, &names) < 0) {
    fail_with_reason(path_, "cannot list group '" + group + "'");
  }
  std::sort(names.begin(), names.end());
  return names;
}

void H5File::set_attr(const std::string& name, const std::string& value) {
  // Variable-length UTF-8: h5py returns it as str (fixed-length comes back as bytes).
  Handle type = checked(H5Tcopy(H5T_C_S1), H5Tclose, path_, "cannot create a string type");
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  Handle attr = create_attribute(file_, path_, name, type.get());
  const char* text = value.c_str();
  if (H5Awrite(attr.get(), type.get(), &text) < 0) {
    fail_with_reason(path_, "cannot write attribute '" + name + "'");
  }
}

void H5File::set_attr(const std::string& name, double value) { set_numeric_attr(file_, path_, name, value); }
void H5File::set_attr(const std::string& name, std::int64_t value) {
  set_numeric_attr(file_, path_, name, value);
}

bool H5File::has_attr(const std::string& name) const {
  const htri_t exists = H5Aexists(file_, name.c_str());
  if (exists < 0) fail_with_reason(path_, "cannot look up attribute '" + name + "'");
  return exists > 0;
}

std::string H5File::attr_string(const std::string& name) const {
  Handle attr = open_attribute(file_, path_, name);
  require_single_value(attr.get(), path_, name);
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, path_, "cannot read attribute '" + name + "'");
  if (H5Tget_class(type.get()) != H5T_STRING) {
    fail(path_, "attribute '" + name + "' has type " + describe_type(type.get()) + ", expected a string");
  }
  Handle mem = checked(H5Tcopy(H5T_C_S1), H5Tclose, path_, "cannot create a string type");
  H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
  const htri_t variable = H5Tis_variable_str(type.get());
  if (variable < 0) fail_with_reason(path_, "cannot read attribute '" + name + "'");
  if (variable > 0) {
    H5Tset_size(mem.get(), H5T_VARIABLE);
    char* text = nullptr;
    if (H5Aread(attr.get(), mem.get(), &text) < 0) fail_with_reason(path_, "cannot read attribute '" + name + "'");
    std::string value = text != nullptr ? std::string(text) : std::string();
    H5free_memory(text);
    return value;
  }
  const std::size_t size = H5Tget_size(type.get());
  // One extra byte so the library can always terminate the string.
  H5Tset_size(mem.get(), size + 1);
  H5Tset_strpad(mem.get(), H5T_STR_NULLTERM);
  std::string buffer(size + 1, '\0');
  if (H5Aread(attr.get(), mem.get(), &buffer[0]) < 0) {
    fail_with_reason(path_, "cannot read attribute '" + name + "'");
  }
  buffer.resize(buffer.find('\0') == std::string::npos ? buffer.size() : buffer.find('\0'));
  if (H5Tget_strpad(type.get()) == H5T_STR_SPACEPAD) {
    buffer.erase(buffer.find_last_not_of(' ') + 1);
  }
  return buffer;
}

double H5File::attr_f64(const std::string& name) const {
  Handle attr = open_attribute(file_, path_, name);
  require_single_value(attr.get(), path_, name);
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, path_, "cannot read attribute '" + name + "'");
  if (!is_numeric(type.get())) {
    fail(path_, "attribute '" + name + "' has type " + describe_type(type.get()) + ", expected a number");
  }
  double value = 0.0;
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value) < 0) {
    fail_with_reason(path_, "cannot read attribute '" + name + "'");
  }
  return value;
}

std::int64_t H5File::attr_i64(const std::string& name) const {
  Handle attr = open_attribute(file_, path_, name);
  require_single_value(attr.get(), path_, name);
  Handle type = checked(H5Aget_type(attr.get()), H5Tclose, path_, "cannot read attribute '" + name + "'");
  // A float would be silently truncated; an integer attribute is asked for.
  if (H5Tget_class(type.get()) != H5T_INTEGER || !is_standard_number(type.get())) {
    fail(path_, "attribute '" + name + "' has type " + describe_type(type.get()) + ", expected an integer");
  }
  std::int64_t value = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_INT64, &value) < 0) {
    fail_with_reason(path_, "cannot read attribute '" + name + "'");
  }
  return value;
}

void H5File::flush() {
  if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0) fail_with_reason(path_, "cannot flush");
}

// ==================================================================== sequences

namespace {

// 2^31 floats is 8 GiB: beyond that the file is either corrupt or too large
// to train from memory.
constexpr std::int64_t kMaxSequenceElements = std::int64_t{1} << 31;

std::string where(const std::string& dataset) { return "dataset '" + dataset + "'"; }

enum class SequenceType { u8, f32, f64 };

SequenceType sequence_type(hid_t type, const std::string& path, const std::string& dataset) {
  if (H5Tequal(type, H5T_STD_U8LE) > 0 || H5Tequal(type, H5T_STD_U8BE) > 0) return SequenceType::u8;
  if (H5Tequal(type, H5T_IEEE_F32LE) > 0 || H5Tequal(type, H5T_IEEE_F32BE) > 0) return SequenceType::f32;
  if (H5Tequal(type, H5T_IEEE_F64LE) > 0 || H5Tequal(type, H5T_IEEE_F64BE) > 0) return SequenceType::f64;
  H5Eclear2(H5E_DEFAULT);
  fail(path, where(dataset) + " has dtype " + describe_type(type) + "; accepted: uint8 (scaled by 1/255), float32, float64");
}

std::vector<std::int64_t> sequence_shape(hid_t space, const std::string& path, const std::string& dataset) {
  std::vector<std::int64_t> shape = dataspace_shape(space, path, dataset);
  const std::string accepted = "; accepted: (N, C, T, H, W) or (N, T, H, W)";
  if (shape.size() != 4 && shape.size() != 5) {
    fail(path, where(dataset) + " has rank " + std::to_string(shape.size()) + ", shape " + shape_string(shape) +
                   accepted);
  }
  for (std::int64_t d : shape) {
    if (d == 0) fail(path, where(dataset) + " has an empty dimension, shape " + shape_string(shape) + accepted);
  }
  const std::int64_t count = element_count(shape);
  if (count < 0 || count > kMaxSequenceElements) {
    fail(path, where(dataset) + " of shape " + shape_string(shape) + " is too large (more than 2^31 values)");
  }
  return shape;
}

// Training data must be complete: a dataset whose storage was never (or
// only partly) written reads back as fill values, which for sequences means
// an unfinished or damaged file. Requiring the data to be there also stops
// a damaged shape from making us allocate and fill gigabytes.
void require_complete_contiguous(hid_t dset, std::uint64_t needed, const std::string& path,
                                 const std::string& dataset) {
  const hsize_t stored = H5Dget_storage_size(dset);
  if (stored < needed) {
    fail(path, where(dataset) + " stores only " + std::to_string(stored) + " of the " + std::to_string(needed) +
                   " bytes its shape needs (partly written or damaged)");
  }
}

// For chunked data the same rule means every chunk is allocated. Unfiltered
// chunks must also be exactly chunk-sized: libhdf5 1.10 reads them into a
// buffer sized from the chunk index but copies out by the chunk dimensions,
// so a damaged index entry overruns the heap inside H5Dread (found by
// fuzzing). The index is walked both ways the library uses it (listing and
// lookup by position) and the two must agree. Compressed chunks cannot be
// size-checked without decompressing them.
void require_complete_chunks(hid_t dset, hid_t dcpl, bool filtered, std::uint64_t element_bytes,
                             const std::vector<std::int64_t>& shape, const std::string& path,
                             const std::string& dataset) {
#if H5_VERSION_GE(1, 10, 5)
  auto damaged = [&](const std::string& detail) {
    H5Eclear2(H5E_DEFAULT);
    fail(path, where(dataset) + " has a damaged chunk index (" + detail + ")");
  };
  const int rank = static_cast<int>(shape.size());
  std::vector<hsize_t> chunk(shape.size(), 0);
  if (H5Pget_chunk(dcpl, rank, chunk.data()) != rank) damaged("chunk rank differs from dataset rank");
  std::uint64_t chunk_bytes = element_bytes;
  std::vector<std::uint64_t> grid(shape.size());
  std::uint64_t grid_cells = 1;
  for (int d = 0; d < rank; ++d) {
    // Chunks may be larger than the dataset (resizable datasets), never empty.
    if (chunk[d] == 0) damaged("empty chunk dimension");
    // HDF5 limits a chunk to 4 GiB; checked before multiplying so it cannot wrap.
    if (chunk[d] > (std::uint64_t{1} << 32) / chunk_bytes) damaged("chunk larger than 4 GiB");
    chunk_bytes *= chunk[d];
    grid[d] = (static_cast<hsize_t>(shape[d]) + chunk[d] - 1) / chunk[d];
    grid_cells *= grid[d];
  }
  // 1.10 rejects H5S_ALL in these calls, so pass the dataset's own dataspace.
  Handle space = checked(H5Dget_space(dset), H5Sclose, path, "cannot read the shape of " + where(dataset));
  hsize_t listed = 0;
  if (H5Dget_num_chunks(dset, space.get(), &listed) < 0) damaged("cannot count chunks");
  if (listed < grid_cells) {
    fail(path, where(dataset) + " stores only " + std::to_string(listed) + " of its " + std::to_string(grid_cells) +
                   " chunks (partly written or damaged)");
  }
  if (listed > grid_cells) damaged("more chunks than fit the shape");
  // One index lookup per chunk below; no sensible file has this many.
  if (grid_cells > (std::uint64_t{1} << 22)) {
    fail(path, where(dataset) + " is split into " + std::to_string(grid_cells) + " chunks, too many to read");
  }

  std::vector<bool> seen(static_cast<std::size_t>(grid_cells), false);
  std::vector<hsize_t> offset(shape.size(), 0);
  for (hsize_t i = 0; i < listed; ++i) {
    unsigned filter_mask = 0;
    haddr_t address = 0;
    hsize_t stored = 0;
    if (H5Dget_chunk_info(dset, space.get(), i, offset.data(), &filter_mask, &address, &stored) < 0) {
      damaged("cannot list chunk " + std::to_string(i));
    }
    std::uint64_t cell = 0;
    for (int d = 0; d < rank; ++d) {
      if (offset[d] % chunk[d] != 0 || offset[d] >= static_cast<hsize_t>(shape[d])) damaged("chunk outside the shape");
      cell = cell * grid[d] + offset[d] / chunk[d];
    }
    if (seen[cell]) damaged("a chunk listed twice");
    seen[cell] = true;
    if (!filtered && stored != chunk_bytes) {
      damaged("a chunk of " + std::to_string(stored) + " bytes where " + std::to_string(chunk_bytes) + " are expected");
    }
  }
  if (!filtered && H5Dget_storage_size(dset) != listed * chunk_bytes) damaged("storage size disagrees with the chunks");

  std::fill(offset.begin(), offset.end(), 0);
  for (std::uint64_t cell = 0; cell < grid_cells; ++cell) {
    hsize_t stored = 0;
    if (H5Dget_chunk_storage_size(dset, offset.data(), &stored) < 0 || stored == 0) {
      damaged("lookup misses a listed chunk");
    }
    if (!filtered && stored != chunk_bytes) damaged("lookup disagrees with listing");
    for (int d = rank - 1; d >= 0; --d) {  // next chunk origin, last dimension fastest
      offset[d] += chunk[d];
      if (offset[d] < static_cast<hsize_t>(shape[d])) break;
      offset[d] = 0;
    }
  }
#else
  // Without the chunk query API only the total can be checked.
  if (!filtered) require_complete_contiguous(dset, element_count(shape) * element_bytes, path, dataset);
  (void)dcpl;
#endif
}

void require_complete_data(hid_t dset, hid_t type, const std::vector<std::int64_t>& shape, const std::string& path,
                           const std::string& dataset) {
  Handle dcpl = checked(H5Dget_create_plist(dset), H5Pclose, path, "cannot read " + where(dataset));
  const bool filtered = H5Pget_nfilters(dcpl.get()) > 0;
  const std::uint64_t element_bytes = H5Tget_size(type);
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout == H5D_VIRTUAL) fail(path, where(dataset) + " is a virtual dataset, which is not supported");
  if (layout == H5D_CHUNKED) {
    require_complete_chunks(dset, dcpl.get(), filtered, element_bytes, shape, path, dataset);
  } else {
    require_complete_contiguous(dset, static_cast<std::uint64_t>(element_count(shape)) * element_bytes, path,
                                dataset);
  }
}

}  // namespace

SequenceArray read_sequences_h5(const std::string& path, const std::string& dataset) {
  Handle file = open_for_reading(path);
  Handle dset = open_dataset(file.get(), path, dataset);
  Handle type = checked(H5Dget_type(dset.get()), H5Tclose, path, "cannot read the dtype of " + where(dataset));
  const SequenceType kind = sequence_type(type.get(), path, dataset);
  Handle space = checked(H5Dget_space(dset.get()), H5Sclose, path, "cannot read the shape of " + where(dataset));

  SequenceArray out;
  out.shape = sequence_shape(space.get(), path, dataset);
  require_complete_data(dset.get(), type.get(), out.shape, path, dataset);
  const std::int64_t count = element_count(out.shape);
  if (out.shape.size() == 4) out.shape.insert(out.shape.begin() + 1, 1);  // (N, T, H, W) -> (N, 1, T, H, W)

  out.values.resize(static_cast<std::size_t>(count));
  // HDF5 converts uint8 and float64 to float32 during the read, exactly for
  // uint8 and with rounding for float64 (what numpy's astype does).
  if (H5Dread(dset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()) < 0) {
    fail_with_reason(path, "cannot read " + where(dataset));
  }
  if (kind == SequenceType::u8) {
    for (float& v : out.values) v /= 255.0f;
  }
  for (std::size_t i = 0; i < out.values.size(); ++i) {
    if (!std::isfinite(out.values[i])) {
      fail(path, where(dataset) + " contains a non-finite value (NaN or infinity) at flat index " +
                     std::to_string(i));
    }
  }
  return out;
}

}  // namespace cdae::io
