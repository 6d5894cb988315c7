// Progress lines with throughput and ETA for long runs, at most one every
// `interval` seconds.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace cdae::io {

class ProgressMeter {
 public:
  ProgressMeter(std::int64_t first_epoch, double interval_seconds);
  // Returns a line to print after `epoch` completed, or "" if it is not time yet.
  std::string tick(std::int64_t epoch, std::int64_t total_epochs, std::int64_t samples_per_epoch);
  double elapsed_seconds() const;
  void set_interval(double seconds) { interval_ = seconds; }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_, last_;
  std::int64_t first_epoch_;
  double interval_;
};

std::string format_duration(double seconds);  // "1h02m03s", "4m05s", "12s"

}  // namespace cdae::io
