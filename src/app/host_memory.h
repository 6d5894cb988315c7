// How cdae's processes take host memory. Two costs of a CPU step that are not
// arithmetic, both from handing large blocks back to the kernel and taking them
// again, page by page, every step:
// - glibc returns the top of the heap once more than a (dynamic) trim threshold
//   is free, and serves large blocks with mmap: with the cpu preset that was
//   more than half of the forward pass (docs/performance.md). Blocks up to
//   32 MB now stay in the heap.
// - Blocks above that (the seed config's activations are 1.2 GB) are mmapped
//   whatever the settings; a fresh 1.2 GB tensor page-faults 300k 4 KB pages
//   in, ~0.55 s on these CPUs, five times the pass that fills it. LibTorch's
//   CPU allocator can ask for transparent huge pages for blocks of 2 MB and
//   more (madvise), 512 times fewer faults:
//   a seed epoch at 2 ranks went from 67.3 to 50.5 s. It reads the switch,
//   THP_MEM_ALLOC_ENABLE, once, at its first large allocation, so it is set
//   before anything else runs; a value the user set is kept.
// A step's activations have the same sizes every step, so keeping the memory
// is bounded by the peak of one step.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <torch/torch.h>

namespace cdae::app {

inline void keep_freed_host_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc accepts on 64-bit; fixed, not dynamic
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  setenv("THP_MEM_ALLOC_ENABLE", "1", /*overwrite=*/0);
}

// The kernel's transparent huge page mode ("always", "madvise" or "never"),
// the bracketed word of the sysfs file; "unknown" where there is none.
inline std::string transparent_huge_page_mode(
    const std::string& path = "/sys/kernel/mm/transparent_hugepage/enabled") {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return "unknown";
  const auto open = line.find('['), close = line.find(']');
  if (open == std::string::npos || close == std::string::npos || close < open) return "unknown";
  return line.substr(open + 1, close - open - 1);
}

// Kilobytes of transparent huge pages in the mapping that holds `address`, from
// /proc/self/smaps; -1 where that cannot be read.
inline long huge_page_kb_at(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto a = reinterpret_cast<std::uintptr_t>(address);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find('-')) {
      inside = lo <= a && a < hi;
    } else if (inside && line.rfind("AnonHugePages:", 0) == 0) {
      return std::stol(line.substr(14));
    }
  }
  return -1;
}

// Whether this process's large CPU tensors get huge pages: a fresh 8 MB tensor
// is touched and its mapping's AnonHugePages read back.
inline bool large_host_tensors_use_huge_pages() {
  auto probe = torch::ones({8 << 20}, torch::kUInt8);
  return huge_page_kb_at(probe.data_ptr()) > 0;
}

}  // namespace cdae::app
