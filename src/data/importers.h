// Importers that write the HDF5 dataset layout (docs/datasets.md) from IDX
// files, a folder of PNGs (one sub-folder per class) or a CSV/TSV table,
// applying an ImportProtocol. Torch-free; cdae-import is their command line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/import_protocol.h"

namespace cdae::data {

// A labelled source, read whole: samples as bytes (images) or floats (tables).
struct LabelledSource {
  std::vector<std::int64_t> sample_shape;  // (C, H, W) or (D)
  std::vector<std::uint8_t> bytes;         // images: 0..255
  std::vector<float> floats;               // tables
  std::vector<SourceSample> samples;
  std::vector<std::string> class_names;    // by class id
  bool has_test_part = false;
};

// IDX images (N, H, W) and labels (N); test files optional ("" for none).
// Class names: `names` (comma-separated) or the digits of the labels.
LabelledSource load_idx(const std::string& train_images, const std::string& train_labels,
                        const std::string& test_images, const std::string& test_labels, const std::string& names);
// Debian's dataset-fashion-mnist with its ten class names.
LabelledSource load_fashion_mnist();
// DIR/<class>/*.png (or .PNG), classes = sub-folders in name order, files in
// name order. Every PNG is read as 8-bit gray (io::read_png_gray: colour is
// converted to gray by libpng, alpha composed over black, 16-bit rounded), so
// samples are (1, H, W); all images must have the size of the first one.
LabelledSource load_png_folder(const std::string& dir);
// A CSV/TSV table (io::read_table, gzipped or not); classes are the label
// column's distinct values, in numeric order when all are integers, else in
// text order.
struct TableImport {
  std::string label_column;                // header name or 0-based index; "" = the last column
  std::int64_t skip_lines = 0;             // metadata lines at the top of the file
  std::string class_names;                 // comma-separated new names of the classes, in their order; "" = the values
  double scale = 1;                        // every feature is multiplied by it (e.g. 1/16 for 0..16 pixels)
  std::vector<std::int64_t> sample_shape;  // e.g. (1, 8, 8): rows become images; empty = vectors (D)
};
LabelledSource load_table(const std::string& path, const TableImport& options);
LabelledSource load_table(const std::string& path, const std::string& label_column);

// "1,8,8" -> {1, 8, 8}; throws naming `option` for anything but positive integers.
std::vector<std::int64_t> parse_shape(const std::string& option, const std::string& text);

// Standardizes every feature of a table source (floats) in place to zero mean
// and unit variance over the samples the assignment puts in the train split
// unlabelled (label != 1: what the models fit as normal), so no val or test
// sample and no labelled anomaly informs the scaling. A constant feature is
// only centred. Returns the rule in words for the file's description.
std::string standardize(LabelledSource& source, const Assignment& assignment);

// Writes the samples the assignment keeps (train, then val, then test, each in
// source order): /samples uint8 (images) or float32 (tables) chunked by 256
// rows, /labels int64, /split uint8, root attributes class_names and
// description. Atomic (io::write_atomically). Returns the number of samples.
std::int64_t write_dataset(const std::string& path, const LabelledSource& source, const Assignment& assignment,
                           const std::string& description);

}  // namespace cdae::data
