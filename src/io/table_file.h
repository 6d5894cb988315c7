// Tables of numbers, CSV or TSV, with one label column: the input of
// `cdae-import table`. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::io {

struct Table {
  std::vector<std::string> header;  // column names ("" when the file has no header line)
  std::vector<std::string> labels;  // the label column, as text, one per row
  std::vector<float> values;        // the other columns, row-major (rows, columns)
  std::int64_t columns = 0;
  std::int64_t rows() const { return static_cast<std::int64_t>(labels.size()); }
};

// Separator: a tab if the first line has one, else a comma. A first line that
// is not all numbers is the header. `label_column`: a column name, or a
// 0-based index; empty = the last column. Throws naming the file, line and
// column of a cell that is not a number, and rows of another width.
Table read_table(const std::string& path, const std::string& label_column);

}  // namespace cdae::io
