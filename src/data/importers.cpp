#include "data/importers.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "io/file_writes.h"
#include "io/hdf5_file.h"
#include "io/idx_file.h"
#include "io/png.h"
#include "io/strings.h"
#include "io/table_file.h"

namespace cdae::data {

namespace fs = std::filesystem;

namespace {

// Appends IDX images and labels to `source`.
void append_idx(LabelledSource& source, const std::string& images_path, const std::string& labels_path, bool test) {
  const auto images = io::read_idx(images_path);
  const auto labels = io::read_idx(labels_path);
  if (images.shape.size() != 3)
    throw std::runtime_error("IDX file '" + images_path + "' holds " + std::to_string(images.shape.size()) +
                             "-D data, expected images (N, H, W)");
  if (labels.shape.size() != 1 || labels.shape[0] != images.shape[0])
    throw std::runtime_error("IDX file '" + labels_path + "' holds " + std::to_string(labels.values.size()) +
                             " labels for the " + std::to_string(images.shape[0]) + " images of '" + images_path + "'");
  const std::vector<std::int64_t> shape{1, images.shape[1], images.shape[2]};
  if (!source.sample_shape.empty() && source.sample_shape != shape)
    throw std::runtime_error("IDX file '" + images_path + "': images of another size than the train images");
  source.sample_shape = shape;
  source.bytes.insert(source.bytes.end(), images.values.begin(), images.values.end());
  for (auto label : labels.values) source.samples.push_back({static_cast<int>(label), test});
}

bool is_png_name(const fs::path& path) {
  auto ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png";
}

// Integer labels ("2" < "10") in numeric order, anything else in text order.
std::vector<std::string> sorted_classes(const std::vector<std::string>& labels) {
  std::vector<std::string> names(labels.begin(), labels.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  auto integer = [](const std::string& s, long long& v) {
    char* end = nullptr;
    v = std::strtoll(s.c_str(), &end, 10);
    return !s.empty() && end == s.c_str() + s.size();
  };
  long long a = 0, b = 0;
  const bool all_integers = std::all_of(names.begin(), names.end(), [&](const std::string& s) { return integer(s, a); });
  if (all_integers)
    std::sort(names.begin(), names.end(), [&](const std::string& x, const std::string& y) {
      integer(x, a);
      integer(y, b);
      return a < b;
    });
  return names;
}

}  // namespace

LabelledSource load_idx(const std::string& train_images, const std::string& train_labels,
                        const std::string& test_images, const std::string& test_labels, const std::string& names) {
  LabelledSource source;
  append_idx(source, train_images, train_labels, false);
  if (!test_images.empty() || !test_labels.empty()) {
    if (test_images.empty() || test_labels.empty())
      throw std::invalid_argument("--test-images and --test-labels go together");
    append_idx(source, test_images, test_labels, true);
    source.has_test_part = true;
  }
  int classes = 0;
  for (const auto& s : source.samples) classes = std::max(classes, s.class_id + 1);
  if (!names.empty()) {
    source.class_names = io::split_commas(names);
    if (static_cast<int>(source.class_names.size()) < classes)
      throw std::invalid_argument("--class-names names " + std::to_string(source.class_names.size()) +
                                  " classes, the labels go up to " + std::to_string(classes - 1));
  } else {
    for (int c = 0; c < classes; ++c) source.class_names.push_back(std::to_string(c));
  }
  return source;
}

LabelledSource load_fashion_mnist() {
  const std::string dir = "/usr/share/datasets/fashion-mnist/";
  for (const char* file : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                           "t10k-labels-idx1-ubyte.gz"})
    if (!fs::exists(dir + file))
      throw std::runtime_error("Fashion-MNIST is not installed (no " + dir + file +
                               "): apt-get install dataset-fashion-mnist (or use `cdae-import idx` with your copy)");
  return load_idx(dir + "train-images-idx3-ubyte.gz", dir + "train-labels-idx1-ubyte.gz",
                  dir + "t10k-images-idx3-ubyte.gz", dir + "t10k-labels-idx1-ubyte.gz",
                  "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot");
}

LabelledSource load_png_folder(const std::string& dir) {
  if (!fs::is_directory(dir)) throw std::runtime_error("PNG folder '" + dir + "' is not a directory");
  LabelledSource source;
  std::vector<fs::path> classes;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_directory()) classes.push_back(entry.path());
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) throw std::runtime_error("PNG folder '" + dir + "' has no sub-folder (one per class)");
  for (std::size_t c = 0; c < classes.size(); ++c) {
    source.class_names.push_back(classes[c].filename().string());
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(classes[c]))
      if (entry.is_regular_file() && is_png_name(entry.path())) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      const auto image = io::read_png_gray(file.string());
      const std::vector<std::int64_t> shape{1, image.height, image.width};
      if (!source.sample_shape.empty() && shape != source.sample_shape)
        throw std::runtime_error("PNG '" + file.string() + "' is " + std::to_string(image.height) + "x" +
                                 std::to_string(image.width) + ", the first image was " +
                                 std::to_string(source.sample_shape[1]) + "x" + std::to_string(source.sample_shape[2]));
      source.sample_shape = shape;
      for (float v : image.pixels) source.bytes.push_back(static_cast<std::uint8_t>(std::lround(v * 255.0f)));
      source.samples.push_back({static_cast<int>(c), false});
    }
  }
  if (source.samples.empty()) throw std::runtime_error("PNG folder '" + dir + "' holds no .png in its sub-folders");
  return source;
}

LabelledSource load_table(const std::string& path, const TableImport& options) {
  const auto table = io::read_table(path, options.label_column, options.skip_lines);
  LabelledSource source;
  const auto values = sorted_classes(table.labels);
  for (const auto& label : table.labels)
    source.samples.push_back(
        {static_cast<int>(std::find(values.begin(), values.end(), label) - values.begin()), false});
  source.class_names = values;
  if (!options.class_names.empty()) {
    source.class_names = io::split_commas(options.class_names);
    if (source.class_names.size() != values.size()) {
      std::string found;
      for (const auto& v : values) found += (found.empty() ? "" : ",") + v;
      throw std::invalid_argument("--class-names '" + options.class_names + "' names " +
                                  std::to_string(source.class_names.size()) + " classes, table '" + path + "' has " +
                                  std::to_string(values.size()) + " label values (" + found + ")");
    }
  }
  if (!(std::isfinite(options.scale) && options.scale != 0))
    throw std::invalid_argument("--scale " + std::to_string(options.scale) + " must be a finite non-zero number");
  source.floats = table.values;
  for (auto& v : source.floats) v = static_cast<float>(v * options.scale);
  source.sample_shape = {table.columns};
  if (!options.sample_shape.empty()) {
    std::int64_t size = 1;
    for (auto d : options.sample_shape) size *= d;
    if (size != table.columns)
      throw std::invalid_argument("--sample-shape " + io::shape_string(options.sample_shape) + " holds " +
                                  std::to_string(size) + " values, the rows of table '" + path + "' have " +
                                  std::to_string(table.columns) + " features");
    source.sample_shape = options.sample_shape;
  }
  return source;
}

LabelledSource load_table(const std::string& path, const std::string& label_column) {
  TableImport options;
  options.label_column = label_column;
  return load_table(path, options);
}

std::vector<std::int64_t> parse_shape(const std::string& option, const std::string& text) {
  std::vector<std::int64_t> shape;
  for (const auto& part : io::split_commas(text)) {
    char* end = nullptr;
    const long long d = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || end != part.c_str() + part.size() || d <= 0)
      throw std::invalid_argument(option + " '" + text + "': '" + part + "' is not a positive integer");
    shape.push_back(d);
  }
  if (shape.empty()) throw std::invalid_argument(option + " is empty (e.g. 1,8,8)");
  return shape;
}

std::string standardize(LabelledSource& source, const Assignment& a) {
  if (source.floats.empty())
    throw std::invalid_argument("--standardize applies to table sources (float features), not to images");
  std::size_t d = 1;
  for (auto s : source.sample_shape) d *= static_cast<std::size_t>(s);
  std::vector<double> sum(d, 0.0), squares(d, 0.0);
  std::size_t n = 0;
  for (std::size_t i = 0; i < a.split.size(); ++i) {
    if (a.split[i] != kTrain || a.label[i] == 1) continue;
    ++n;
    for (std::size_t j = 0; j < d; ++j) {
      const double v = source.floats[i * d + j];
      sum[j] += v;
      squares[j] += v * v;
    }
  }
  if (n < 2) throw std::invalid_argument("--standardize needs at least 2 unlabelled train samples, the split has " +
                                         std::to_string(n));
  std::size_t constant = 0;
  for (std::size_t j = 0; j < d; ++j) {
    const double mean = sum[j] / static_cast<double>(n);
    const double variance = std::max(0.0, squares[j] / static_cast<double>(n) - mean * mean);
    const double sd = std::sqrt(variance);
    const bool flat = sd <= 1e-12 * std::max(1.0, std::abs(mean));
    constant += flat;
    const double inverse = flat ? 1.0 : 1.0 / sd;
    for (std::size_t i = 0; i < a.split.size(); ++i)
      source.floats[i * d + j] = static_cast<float>((source.floats[i * d + j] - mean) * inverse);
  }
  return "features standardized with the mean and standard deviation of the " + std::to_string(n) +
         " unlabelled train samples" + (constant ? " (" + std::to_string(constant) + " constant, only centred)" : "");
}

std::int64_t write_dataset(const std::string& path, const LabelledSource& source, const Assignment& a,
                           const std::string& description) {
  std::int64_t per_sample = 1;
  for (auto d : source.sample_shape) per_sample *= d;
  std::vector<std::size_t> kept;
  for (int split = 0; split < 3; ++split)
    for (std::size_t i = 0; i < a.split.size(); ++i)
      if (a.split[i] == split) kept.push_back(i);
  const auto n = static_cast<std::int64_t>(kept.size());
  std::vector<std::int64_t> shape{n};
  shape.insert(shape.end(), source.sample_shape.begin(), source.sample_shape.end());
  std::vector<std::int64_t> labels;
  std::vector<std::uint8_t> splits;
  for (auto i : kept) {
    labels.push_back(a.label[i]);
    splits.push_back(static_cast<std::uint8_t>(a.split[i]));
  }
  std::string names;
  for (const auto& name : a.class_names) {
    if (name.find(',') != std::string::npos)
      throw std::invalid_argument("class name '" + name + "' contains a comma (class_names is comma-separated)");
    names += (names.empty() ? "" : ",") + name;
  }
  io::write_atomically(path, [&](const std::string& tmp) {
    io::H5File f(tmp, io::H5File::Mode::truncate);
    if (!source.bytes.empty()) {
      std::vector<std::uint8_t> rows(static_cast<std::size_t>(n * per_sample));
      for (std::int64_t k = 0; k < n; ++k)
        std::copy_n(source.bytes.begin() + static_cast<std::ptrdiff_t>(kept[k] * per_sample), per_sample,
                    rows.begin() + k * per_sample);
      f.write_u8("samples", shape, rows.data(), 256);
    } else {
      std::vector<float> rows(static_cast<std::size_t>(n * per_sample));
      for (std::int64_t k = 0; k < n; ++k)
        std::copy_n(source.floats.begin() + static_cast<std::ptrdiff_t>(kept[k] * per_sample), per_sample,
                    rows.begin() + k * per_sample);
      f.write_f32("samples", shape, rows.data(), 256);
    }
    f.write_i64("labels", {n}, labels.data());
    f.write_u8("split", {n}, splits.data());
    f.set_attr("class_names", names);
    f.set_attr("description", description);
  });
  return n;
}

}  // namespace cdae::data
