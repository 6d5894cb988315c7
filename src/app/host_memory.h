// Keeps freed host memory in the process instead of returning it to the
// kernel. By default glibc returns the top of the heap once more than a
// (dynamic) trim threshold is free, and serves large blocks with mmap, so
// every training step of a CPU run page-faults its activations in again: with
// the cpu preset that was more than half of the forward pass
// (docs/performance.md). A step's activations have the same sizes every step,
// so keeping the memory is bounded by the peak of one step.
#pragma once
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cdae::app {

inline void keep_freed_host_memory() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // the largest glibc accepts on 64-bit; fixed, not dynamic
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

}  // namespace cdae::app
