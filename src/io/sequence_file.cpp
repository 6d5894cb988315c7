#include "io/sequence_file.h"

#include <hdf5.h>

#include <algorithm>
#include <cmath>

#include "io/hdf5_handles.h"
#include "io/strings.h"

namespace cdae::io {

using namespace hdf5_detail;  // NOLINT: the plumbing shared with hdf5_file.cpp

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
