// Where a step's time goes, operator by operator: LibTorch's profiler records
// every ATen operator this process runs between start() and stop(); the table
// gives each operator's *self* time (its own time less that of the operators
// it called), the part an optimisation of that operator could remove. Rows are
// grouped by operator name and input shapes, so "mul on the 1.2 GB activation"
// and "mul on a bias" are told apart.
#pragma once
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace cdae::app {

struct OperatorTime {
  std::string name;    // ATen operator or autograd node, e.g. "aten::mul"
  std::string shapes;  // input shapes of the calls, e.g. "[54, 128, 21, 89, 89], []"
  std::int64_t calls = 0;
  double self_ms = 0;   // summed over the calls
  double total_ms = 0;  // including the operators it called
};

class OperatorProfile {
 public:
  void start();
  // Stops recording and computes the table; `trace_path` (if not empty)
  // receives the Chrome trace (chrome://tracing, Perfetto).
  void stop(const std::string& trace_path = "");
  // Rows, largest self time first.
  const std::vector<OperatorTime>& rows() const { return rows_; }
  double recorded_ms() const { return recorded_ms_; }  // self time of every operator together
  // The `top` largest rows, per `repeats` (e.g. per epoch), with their share of
  // the recorded time; then the same grouped by operator name alone.
  void print(std::FILE* out, int top, int repeats) const;

 private:
  std::vector<OperatorTime> rows_;
  double recorded_ms_ = 0;
};

// Self time from nested [start, end) intervals of one thread: each event's
// duration less its direct children's. Events must be sorted by start, an
// enclosing event before the events it encloses. Exposed for the unit test.
struct TimedEvent {
  std::uint64_t start_ns, end_ns;
};
std::vector<double> self_times_ns(const std::vector<TimedEvent>& sorted);

}  // namespace cdae::app
