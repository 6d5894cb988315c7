#include "io/hdf5_file.h"

#include <hdf5.h>

#include <algorithm>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "io/hdf5_handles.h"
#include "io/strings.h"

namespace cdae::io {

using namespace hdf5_detail;  // NOLINT: the plumbing shared with sequence_file.cpp

static_assert(std::is_same<hid_t, std::int64_t>::value,
              "H5File stores the file id as int64_t; needs HDF5 >= 1.10");

namespace {

// ------------------------------------------------------------------ shapes

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

}  // namespace cdae::io
