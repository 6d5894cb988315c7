// Fault-injection hooks for the reliability tests, read once from the
// environment when a run starts (never in the epoch loop):
//   CDAE_TEST_NAN_EPOCHS="5,6"   the loss is NaN at those epochs
//   CDAE_TEST_THROW="rank:epoch" that rank throws at that epoch
//   CDAE_TEST_STOP_EPOCH="7"     a stop request (as SIGUSR1) at those epochs
// A malformed value is an error naming the variable.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cdae::train {

struct FaultInjection {
  std::vector<std::int64_t> nan_epochs, stop_epochs;
  int throw_rank = -1;
  std::int64_t throw_epoch = -1;

  static FaultInjection from_environment();
  bool active() const { return !nan_epochs.empty() || !stop_epochs.empty() || throw_rank >= 0; }
  std::string describe() const;  // "CDAE_TEST_NAN_EPOCHS=5,6 ..." for the rank-0 log line
  bool poison(std::int64_t epoch) const;
  bool stop(std::int64_t epoch) const;
  // Throws the injected failure when (rank, epoch) is the one named.
  void maybe_throw(int rank, std::int64_t epoch) const;
};

// Parsers, exposed for tests: "5,6" -> {5, 6}; "1:3" -> (1, 3). Errors name `variable`.
std::vector<std::int64_t> parse_epoch_list(const std::string& variable, const std::string& text);
std::pair<int, std::int64_t> parse_rank_epoch(const std::string& variable, const std::string& text);

}  // namespace cdae::train
