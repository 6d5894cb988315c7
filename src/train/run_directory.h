// Chores on a run's output directory when a run starts: after an exact
// resume, the log lines of epochs the resumed run will do again are dropped;
// temporaries left by a writer killed mid-write are removed. Rank 0 only.
#pragma once
#include <cstdint>
#include <string>

namespace cdae::train {

// Keeps the lines of progress.dat and best.txt in `dir` whose epoch is <= `epoch`.
void drop_progress_after(const std::string& dir, std::int64_t epoch);

// Removes NAME.h5.tmp.<pid> files in `dir`, saying so on stdout.
void remove_stale_temporaries(const std::string& dir);

}  // namespace cdae::train
