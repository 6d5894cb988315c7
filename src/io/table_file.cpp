#include "io/table_file.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>

namespace cdae::io {

namespace {

std::string trim(std::string cell) {
  cell.erase(0, cell.find_first_not_of(" \r"));
  cell.erase(cell.find_last_not_of(" \r") + 1);
  if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') cell = cell.substr(1, cell.size() - 2);
  return cell;
}

std::vector<std::string> split(const std::string& line, char separator) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, separator)) cells.push_back(trim(cell));
  if (!line.empty() && line.back() == separator) cells.push_back("");
  return cells;
}

// A finite float, the whole cell.
bool parse_number(const std::string& text, float& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtof(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value);
}

bool is_number(const std::string& text) {
  float unused = 0;
  return parse_number(text, unused);
}

// By extension (of "x.csv" or "x.csv.gz"), else sniffed from the first line.
char separator_of(const std::string& path, const std::string& first_line) {
  std::filesystem::path name(path);
  if (name.extension() == ".gz" || name.extension() == ".GZ") name = name.stem();
  auto ext = name.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".tsv" || ext == ".tab") return '\t';
  if (ext == ".csv") return ',';
  return first_line.find('\t') != std::string::npos ? '\t' : ',';
}

// The label column given by index (or the last column by default); -1 for a name.
std::int64_t label_index(const std::string& label_column, std::int64_t width) {
  if (label_column.empty()) return width - 1;
  char* end = nullptr;
  const long v = std::strtol(label_column.c_str(), &end, 10);
  return end == label_column.c_str() + label_column.size() ? v : -1;
}

struct Lines {
  std::vector<std::vector<std::string>> rows;
  std::vector<int> numbers;  // 1-based line numbers in the file
};

// The whole file as text; gzread reads plain files too, so one path serves both.
std::string read_text(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error("table '" + path + "' cannot be opened");
  std::string text;
  char buffer[1 << 16];
  int got = 0;
  while ((got = gzread(file, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
  const bool failed = got < 0;
  gzclose(file);
  if (failed) throw std::runtime_error("table '" + path + "' cannot be read (a corrupt .gz?)");
  return text;
}

Lines read_lines(const std::string& path, std::int64_t skip_lines) {
  if (skip_lines < 0)
    throw std::invalid_argument("table '" + path + "': skip " + std::to_string(skip_lines) + " lines is negative");
  std::istringstream in(read_text(path));
  Lines lines;
  std::string line;
  char separator = ',';
  for (int n = 1; std::getline(in, line); ++n) {
    if (n <= skip_lines || line.find_first_not_of(" \r") == std::string::npos) continue;
    if (lines.rows.empty()) separator = separator_of(path, line);
    lines.rows.push_back(split(line, separator));
    lines.numbers.push_back(n);
  }
  if (lines.rows.empty())
    throw std::runtime_error("table '" + path + "' is empty" +
                             (skip_lines > 0 ? " after the " + std::to_string(skip_lines) + " skipped lines" : ""));
  return lines;
}

}  // namespace

Table read_table(const std::string& path, const std::string& label_column, std::int64_t skip_lines) {
  const auto lines = read_lines(path, skip_lines);
  const auto& first = lines.rows[0];
  const auto width = static_cast<std::int64_t>(first.size());
  std::int64_t label = label_index(label_column, width);
  // A header: the label column is named, or a feature cell is not a number
  // (the label cell may be text in any line).
  bool has_header = label < 0;
  for (std::int64_t c = 0; c < width && !has_header; ++c) has_header = c != label && !is_number(first[c]);
  Table table;
  if (has_header) table.header = first;
  const auto named = std::find(table.header.begin(), table.header.end(), label_column);
  if (!label_column.empty() && named != table.header.end()) label = named - table.header.begin();
  if (label < 0 || label >= width)
    throw std::runtime_error("table '" + path + "': no column '" + label_column + "' (" + std::to_string(width) +
                             " columns" + (has_header ? ", named in the header line" : ", no header line") + ")");
  table.columns = width - 1;
  auto column_name = [&](std::int64_t c) {
    return "column " + std::to_string(c + 1) + (has_header ? " (" + table.header[c] + ")" : std::string());
  };
  for (std::size_t r = has_header ? 1 : 0; r < lines.rows.size(); ++r) {
    const auto& cells = lines.rows[r];
    const std::string where = "table '" + path + "' line " + std::to_string(lines.numbers[r]);
    if (static_cast<std::int64_t>(cells.size()) != width)
      throw std::runtime_error(where + ": " + std::to_string(cells.size()) + " cells, the first line has " +
                               std::to_string(width) +
                               (r == 1 ? " (if the first line is metadata, drop it with --skip-lines 1)" : ""));
    for (std::int64_t c = 0; c < width; ++c) {
      if (c == label) {
        if (cells[c].empty()) throw std::runtime_error(where + " " + column_name(c) + ": the label is empty");
        table.labels.push_back(cells[c]);
        continue;
      }
      float v = 0;
      if (!parse_number(cells[c], v))
        throw std::runtime_error(where + " " + column_name(c) + ": '" + cells[c] + "' is not a finite number");
      table.values.push_back(v);
    }
  }
  if (table.labels.empty()) throw std::runtime_error("table '" + path + "' has no data rows");
  return table;
}

}  // namespace cdae::io
