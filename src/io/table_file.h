// Tables of numbers, CSV or TSV, with one label column: the input of
// `cdae-import table`. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::io {

struct Table {
  std::vector<std::string> header;  // column names (empty when the file has no header line)
  std::vector<std::string> labels;  // the label column, as text, one per row
  std::vector<float> values;        // the other columns, row-major (rows, columns)
  std::int64_t columns = 0;
  std::int64_t rows() const { return static_cast<std::int64_t>(labels.size()); }
};

// The file may be gzipped (read through zlib, which reads plain files too);
// a trailing ".gz" is ignored when the separator is chosen by extension.
// Separator: a tab for .tsv/.tab, a comma for .csv, else a tab if the first
// line has one, else a comma. `skip_lines` lines at the top are dropped first
// (a line of metadata, e.g. scikit-learn's "569,30,malignant,benign"). Cells are trimmed of spaces and of one pair of
// surrounding double quotes (no separators inside quotes). Blank lines are
// skipped. The first line is a header when a cell other than the label
// column's is not a number, or when `label_column` is a name.
// `label_column`: a header name, or a 0-based index; empty = the last column.
// Every other cell must be a finite number (stored as float32). Throws naming
// the file, line and column of a bad cell, and rows of another width.
Table read_table(const std::string& path, const std::string& label_column, std::int64_t skip_lines = 0);

}  // namespace cdae::io
