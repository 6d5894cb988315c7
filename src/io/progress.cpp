#include "io/progress.h"

#include <cstdio>

namespace cdae::io {

ProgressMeter::ProgressMeter(std::int64_t first_epoch, double interval_seconds)
    : start_(Clock::now()), last_(start_), first_epoch_(first_epoch), interval_(interval_seconds) {}

double ProgressMeter::elapsed_seconds() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

std::string ProgressMeter::tick(std::int64_t epoch, std::int64_t total_epochs, std::int64_t samples_per_epoch) {
  const auto now = Clock::now();
  const bool last_epoch = epoch + 1 >= total_epochs;
  if (!last_epoch && std::chrono::duration<double>(now - last_).count() < interval_) return "";
  last_ = now;
  const double elapsed = elapsed_seconds();
  const double done = static_cast<double>(epoch + 1 - first_epoch_);
  const double rate = done / std::max(elapsed, 1e-9);
  const double remaining = static_cast<double>(total_epochs - epoch - 1) / std::max(rate, 1e-9);
  char line[256];
  std::snprintf(line, sizeof line, "# progress: epoch %lld/%lld (%.1f%%)  %.2f epochs/s  %.0f samples/s  %.1f ms/epoch  elapsed %s  ETA %s",
                static_cast<long long>(epoch + 1), static_cast<long long>(total_epochs),
                100.0 * (epoch + 1) / std::max<std::int64_t>(total_epochs, 1), rate, rate * samples_per_epoch,
                1000.0 / std::max(rate, 1e-9), format_duration(elapsed).c_str(), format_duration(remaining).c_str());
  return line;
}

std::string format_duration(double seconds) {
  const long long s = static_cast<long long>(seconds + 0.5);
  char text[64];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lldh%02lldm%02llds", s / 3600, (s / 60) % 60, s % 60);
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%lldm%02llds", s / 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%llds", s);
  return text;
}

}  // namespace cdae::io
