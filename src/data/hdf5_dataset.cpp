#include "data/hdf5_dataset.h"

#include <algorithm>
#include <stdexcept>

#include "io/hdf5_file.h"
#include "io/strings.h"

namespace cdae::data {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw std::runtime_error("dataset file '" + path + "': " + what + " (layout: docs/datasets.md)");
}

// A (N) integer dataset whose values lie in [0, bound).
std::vector<std::int64_t> read_index_dataset(const io::H5File& file, const std::string& name, std::int64_t n,
                                             std::int64_t bound, const std::string& meaning) {
  const auto& path = file.path();
  if (!file.exists(name)) refuse(path, "no dataset '" + name + "' (" + meaning + ")");
  if (!file.is_integer(name)) refuse(path, "dataset '" + name + "' must hold integers (" + meaning + ")");
  std::vector<std::int64_t> shape;
  auto values = file.read_i64(name, &shape);
  if (shape.size() != 1 || shape[0] != n)
    refuse(path, "dataset '" + name + "' has shape " + io::shape_string(shape) + ", expected " + io::shape_string({n}) +
                     " like /samples' first dimension");
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] < 0 || values[i] >= bound)
      refuse(path, "dataset '" + name + "' holds " + std::to_string(values[i]) + " at index " + std::to_string(i) +
                       ", outside [0, " + std::to_string(bound) + ") (" + meaning + ")");
  return values;
}

}  // namespace

Hdf5Dataset::Hdf5Dataset(const std::string& path) : path_(path) {
  try {
    file_ = std::make_unique<io::H5File>(path, io::H5File::Mode::read);
  } catch (const std::exception& e) {
    refuse(path, std::string("cannot be opened: ") + e.what());
  }
  if (!file_->exists("samples")) refuse(path, "no dataset '/samples'");
  integer_samples_ = file_->is_integer("samples");
  const auto shape = file_->shape("samples");
  if (shape.size() != 2 && shape.size() != 4 && shape.size() != 5)
    refuse(path, "dataset '/samples' has shape " + io::shape_string(shape) +
                     ", expected (N, D) vectors, (N, C, H, W) images or (N, C, T, H, W) sequences");
  for (auto d : shape)
    if (d <= 0) refuse(path, "dataset '/samples' has an empty dimension: " + io::shape_string(shape));
  sample_shape_.assign(shape.begin() + 1, shape.end());
  if (!file_->has_attr("class_names"))
    refuse(path, "no root attribute 'class_names' (comma-separated names of the labels 0, 1, ...)");
  class_names_ = io::split_commas(file_->attr_string("class_names"));
  if (class_names_.size() < 2)
    refuse(path, "root attribute 'class_names' names " + std::to_string(class_names_.size()) +
                     " classes, at least 2 needed (normal, defect)");
  labels_ = read_index_dataset(*file_, "labels", shape[0], static_cast<std::int64_t>(class_names_.size()),
                               "labels: 0 normal, 1 known defect, 2.. other classes named by 'class_names'");
  splits_ = read_index_dataset(*file_, "split", shape[0], 3, "split: 0 train, 1 val, 2 test");
}

Hdf5Dataset::~Hdf5Dataset() = default;
Hdf5Dataset::Hdf5Dataset(Hdf5Dataset&&) noexcept = default;

torch::Tensor Hdf5Dataset::read(const std::vector<std::int64_t>& rows) const {
  auto unique = rows;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  std::vector<std::int64_t> shape;
  auto values = file_->read_rows_f32("samples", unique, &shape);
  auto block = torch::from_blob(values.data(), shape, torch::kFloat32);
  if (integer_samples_) block = block / 255.0f;
  if (!torch::isfinite(block).all().item<bool>())
    refuse(path_, "dataset '/samples' holds a non-finite value in one of the rows read");
  // Back to the requested order (and repeats).
  std::vector<std::int64_t> position(rows.size());
  for (std::size_t k = 0; k < rows.size(); ++k)
    position[k] = std::lower_bound(unique.begin(), unique.end(), rows[k]) - unique.begin();
  auto out_shape = shape;
  out_shape[0] = static_cast<std::int64_t>(rows.size());
  if (rows.empty()) return torch::zeros(out_shape, torch::kFloat32);
  return block.index_select(0, torch::tensor(position, torch::kInt64)).contiguous();
}

}  // namespace cdae::data
