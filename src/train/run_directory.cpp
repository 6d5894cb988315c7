#include "train/run_directory.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "io/file_writes.h"

namespace cdae::train {

void drop_progress_after(const std::string& dir, std::int64_t epoch) {
  // A run killed between checkpoints logged epochs that the resumed run will
  // do again; best.txt too: a best checkpoint written after the last
  // resume.h5 is found again.
  for (const char* name : {"progress.dat", "best.txt"}) {
    const auto path = (std::filesystem::path(dir) / name).string();
    std::ifstream in(path);
    if (!in) continue;
    std::string line, kept;
    while (std::getline(in, line)) {
      long long e = 0;
      if (std::sscanf(line.c_str(), "%lld", &e) == 1 && e > epoch) continue;
      kept += line + "\n";
    }
    in.close();
    io::write_text_atomically(path, kept);
  }
}

void remove_stale_temporaries(const std::string& dir) {
  // The finished files are intact: a write goes to a temporary and is renamed.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().filename().string().find(".h5.tmp.") != std::string::npos) {
      std::cout << "# removing " << entry.path().string() << " (left by an interrupted write)" << std::endl;
      std::filesystem::remove(entry.path(), ec);
    }
}

}  // namespace cdae::train
