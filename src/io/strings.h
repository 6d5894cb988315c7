// Small text helpers shared by the readers and the config checks, so that
// every message prints a shape and reads a list the same way. Torch-free.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::io {

// "(2, 3)", "(5,)" for one dimension (as Python prints a tuple), "()" for a scalar.
std::string shape_string(const std::vector<std::int64_t>& shape);

// "a,b,,c" -> {"a", "b", "", "c"}; "" -> {}. No trimming: names keep their spaces.
std::vector<std::string> split_commas(const std::string& list);

}  // namespace cdae::io
