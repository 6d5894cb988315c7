// Reading back the text files the reports write: lines and tab-separated fields.
#pragma once
#include <sstream>
#include <string>
#include <vector>

namespace cdae::testing {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

inline std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream s(line);
  for (std::string f; std::getline(s, f, '\t');) out.push_back(f);
  return out;
}

}  // namespace cdae::testing
