#include "io/table_file.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cdae::io {

namespace {

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, separator)) {
    cell.erase(0, cell.find_first_not_of(" \r"));
    cell.erase(cell.find_last_not_of(" \r") + 1);
    cells.push_back(cell);
  }
  if (!line.empty() && line.back() == separator) cells.push_back("");
  return cells;
}

bool parse_number(const std::string& text, float& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtof(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

}  // namespace

Table read_table(const std::string& path, const std::string& label_column) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("table '" + path + "' cannot be opened");
  std::string line;
  std::vector<std::vector<std::string>> rows;
  std::vector<int> line_numbers;
  char separator = ',';
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \r") == std::string::npos) continue;
    if (rows.empty()) separator = line.find('\t') != std::string::npos ? '\t' : ',';
    rows.push_back(split(line, separator));
    line_numbers.push_back(n);
  }
  if (rows.empty()) throw std::runtime_error("table '" + path + "' is empty");
  Table table;
  float unused = 0;
  const bool has_header = std::any_of(rows[0].begin(), rows[0].end(),
                                      [&](const std::string& c) { return !parse_number(c, unused); }) &&
                          rows.size() > 1;
  const auto width = static_cast<std::int64_t>(rows[0].size());
  if (has_header) table.header = rows[0];
  std::int64_t label = width - 1;
  if (!label_column.empty()) {
    const auto named = std::find(table.header.begin(), table.header.end(), label_column);
    if (named != table.header.end()) {
      label = named - table.header.begin();
    } else {
      char* end = nullptr;
      label = std::strtol(label_column.c_str(), &end, 10);
      if (end != label_column.c_str() + label_column.size() || label < 0 || label >= width)
        throw std::runtime_error("table '" + path + "': no column '" + label_column + "' (" + std::to_string(width) +
                                 " columns" + (has_header ? ", named in the header line" : "") + ")");
    }
  }
  table.columns = width - 1;
  for (std::size_t r = has_header ? 1 : 0; r < rows.size(); ++r) {
    const auto& cells = rows[r];
    const std::string where = "table '" + path + "' line " + std::to_string(line_numbers[r]);
    if (static_cast<std::int64_t>(cells.size()) != width)
      throw std::runtime_error(where + ": " + std::to_string(cells.size()) + " cells, the first line has " +
                               std::to_string(width));
    for (std::int64_t c = 0; c < width; ++c) {
      if (c == label) {
        table.labels.push_back(cells[c]);
        continue;
      }
      float v = 0;
      if (!parse_number(cells[c], v))
        throw std::runtime_error(where + " column " + std::to_string(c + 1) + ": '" + cells[c] + "' is not a number");
      table.values.push_back(v);
    }
  }
  if (table.labels.empty()) throw std::runtime_error("table '" + path + "' has no data rows");
  return table;
}

}  // namespace cdae::io
