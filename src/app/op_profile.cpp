#include "app/op_profile.h"

#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace cdae::app {

namespace prof = torch::autograd::profiler;

std::vector<double> self_times_ns(const std::vector<TimedEvent>& sorted) {
  std::vector<double> self(sorted.size());
  std::vector<std::size_t> open;  // indices of the events enclosing the current one
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const auto& e = sorted[i];
    while (!open.empty() && sorted[open.back()].end_ns <= e.start_ns) open.pop_back();
    self[i] = static_cast<double>(e.end_ns - e.start_ns);
    if (!open.empty()) self[open.back()] -= static_cast<double>(e.end_ns - e.start_ns);
    open.push_back(i);
  }
  return self;
}

void OperatorProfile::start() {
  // Kineto logs "gpuGetDeviceCount failed" as an ERROR on every machine
  // without a GPU; level 5 keeps only fatal messages (a user's setting wins).
  setenv("KINETO_LOG_LEVEL", "5", /*overwrite=*/0);
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO,
                                                     /*report_input_shapes=*/true);
  const std::set<torch::profiler::impl::ActivityType> activities{torch::profiler::impl::ActivityType::CPU};
  prof::prepareProfiler(config, activities);
  prof::enableProfiler(config, activities);
}

namespace {

std::string shapes_text(const prof::KinetoEvent& e) {
  if (!e.hasShapes()) return "";
  std::ostringstream s;
  bool first = true;
  for (const auto& shape : e.shapes()) {
    if (!first) s << ", ";
    first = false;
    s << '[';
    for (std::size_t d = 0; d < shape.size(); ++d) s << (d ? ", " : "") << shape[d];
    s << ']';
  }
  return s.str();
}

}  // namespace

void OperatorProfile::stop(const std::string& trace_path) {
  const auto result = prof::disableProfiler();
  if (!result) throw std::runtime_error("the LibTorch profiler returned no result");
  // Per thread, events by start time, an enclosing event before those it encloses.
  std::map<std::uint64_t, std::vector<const prof::KinetoEvent*>> by_thread;
  for (const auto& e : result->events())
    if (e.deviceType() == c10::DeviceType::CPU && !e.isAsync() && e.endNs() > e.startNs())
      by_thread[e.startThreadId()].push_back(&e);
  std::map<std::pair<std::string, std::string>, OperatorTime> table;
  recorded_ms_ = 0;
  for (auto& [thread, events] : by_thread) {
    std::sort(events.begin(), events.end(), [](const auto* a, const auto* b) {
      return a->startNs() != b->startNs() ? a->startNs() < b->startNs() : a->endNs() > b->endNs();
    });
    std::vector<TimedEvent> intervals;
    intervals.reserve(events.size());
    for (const auto* e : events) intervals.push_back({e->startNs(), e->endNs()});
    const auto self = self_times_ns(intervals);
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& e = *events[i];
      auto& row = table[{e.name(), shapes_text(e)}];
      row.calls += 1;
      row.self_ms += self[i] * 1e-6;
      row.total_ms += static_cast<double>(e.durationNs()) * 1e-6;
      recorded_ms_ += self[i] * 1e-6;
    }
  }
  rows_.clear();
  for (auto& [key, row] : table) {
    row.name = key.first;
    row.shapes = key.second;
    rows_.push_back(std::move(row));
  }
  std::sort(rows_.begin(), rows_.end(), [](const auto& a, const auto& b) { return a.self_ms > b.self_ms; });
  if (!trace_path.empty()) result->save(trace_path);
}

void OperatorProfile::print(std::FILE* out, int top, int repeats) const {
  const double per = 1.0 / std::max(repeats, 1);
  std::fprintf(out, "  operator self time, ms per epoch (%d profiled; %.1f ms of operators per epoch)\n", repeats,
               recorded_ms_ * per);
  std::fprintf(out, "  %10s %6s %7s  %-44s %s\n", "self ms", "share", "calls", "operator", "input shapes");
  for (int i = 0; i < std::min<int>(top, static_cast<int>(rows_.size())); ++i) {
    const auto& r = rows_[i];
    std::fprintf(out, "  %10.2f %5.1f%% %7.0f  %-44s %s\n", r.self_ms * per, 100 * r.self_ms / recorded_ms_,
                 static_cast<double>(r.calls) * per, r.name.c_str(), r.shapes.substr(0, 90).c_str());
  }
  std::map<std::string, std::pair<double, std::int64_t>> by_name;
  for (const auto& r : rows_) {
    by_name[r.name].first += r.self_ms;
    by_name[r.name].second += r.calls;
  }
  std::vector<std::pair<std::string, std::pair<double, std::int64_t>>> names(by_name.begin(), by_name.end());
  std::sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return a.second.first > b.second.first; });
  std::fprintf(out, "  by operator, all shapes together:\n");
  for (int i = 0; i < std::min<int>(top, static_cast<int>(names.size())); ++i)
    std::fprintf(out, "  %10.2f %5.1f%% %7.0f  %s\n", names[i].second.first * per,
                 100 * names[i].second.first / recorded_ms_, static_cast<double>(names[i].second.second) * per,
                 names[i].first.c_str());
}

}  // namespace cdae::app
