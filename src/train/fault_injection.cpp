#include "train/fault_injection.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace cdae::train {

namespace {

std::int64_t parse_integer(const std::string& variable, const std::string& item) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(item, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != item.size() || v < 0)
    throw std::invalid_argument("environment variable " + variable + ": '" + item +
                                "' is not a non-negative integer");
  return v;
}

std::string join(const std::vector<std::int64_t>& v) {
  std::string s;
  for (auto x : v) {
    if (!s.empty()) s += ',';
    s += std::to_string(x);
  }
  return s;
}

}  // namespace

std::vector<std::int64_t> parse_epoch_list(const std::string& variable, const std::string& text) {
  std::vector<std::int64_t> epochs;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) epochs.push_back(parse_integer(variable, item));
  if (epochs.empty()) throw std::invalid_argument("environment variable " + variable + " is set but lists no epoch");
  return epochs;
}

std::pair<int, std::int64_t> parse_rank_epoch(const std::string& variable, const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos)
    throw std::invalid_argument("environment variable " + variable + "='" + text + "': expected RANK:EPOCH");
  return {static_cast<int>(parse_integer(variable, text.substr(0, colon))),
          parse_integer(variable, text.substr(colon + 1))};
}

FaultInjection FaultInjection::from_environment() {
  FaultInjection f;
  if (const char* v = std::getenv("CDAE_TEST_NAN_EPOCHS")) f.nan_epochs = parse_epoch_list("CDAE_TEST_NAN_EPOCHS", v);
  if (const char* v = std::getenv("CDAE_TEST_STOP_EPOCH")) f.stop_epochs = parse_epoch_list("CDAE_TEST_STOP_EPOCH", v);
  if (const char* v = std::getenv("CDAE_TEST_THROW"))
    std::tie(f.throw_rank, f.throw_epoch) = parse_rank_epoch("CDAE_TEST_THROW", v);
  return f;
}

std::string FaultInjection::describe() const {
  std::string s;
  if (!nan_epochs.empty()) s += " CDAE_TEST_NAN_EPOCHS=" + join(nan_epochs);
  if (!stop_epochs.empty()) s += " CDAE_TEST_STOP_EPOCH=" + join(stop_epochs);
  if (throw_rank >= 0) s += " CDAE_TEST_THROW=" + std::to_string(throw_rank) + ":" + std::to_string(throw_epoch);
  return s.empty() ? s : s.substr(1);
}

bool FaultInjection::poison(std::int64_t epoch) const {
  return std::find(nan_epochs.begin(), nan_epochs.end(), epoch) != nan_epochs.end();
}

bool FaultInjection::stop(std::int64_t epoch) const {
  return std::find(stop_epochs.begin(), stop_epochs.end(), epoch) != stop_epochs.end();
}

void FaultInjection::maybe_throw(int rank, std::int64_t epoch) const {
  if (rank == throw_rank && epoch == throw_epoch)
    throw std::runtime_error("test hook CDAE_TEST_THROW: rank " + std::to_string(rank) + " fails at epoch " +
                             std::to_string(epoch));
}

}  // namespace cdae::train
