#include "train/precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

namespace cdae::train {

void configure_precision(const std::string& precision) {
  const bool tf32 = precision == "tf32";
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
}

// LibTorch 2.4 replaced the per-device autocast functions by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define CDAE_AUTOCAST_BY_DEVICE_TYPE 1
#endif

AutocastScope::AutocastScope(const std::string& precision, torch::Device device) {
  if (precision != "bf16") return;
  active_ = true;
  cuda_ = device.is_cuda();
#ifdef CDAE_AUTOCAST_BY_DEVICE_TYPE
  const auto type = cuda_ ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, true);
#else
  if (cuda_) {
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
  }
#endif
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
#ifdef CDAE_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(cuda_ ? at::kCUDA : at::kCPU, false);
#else
  if (cuda_)
    at::autocast::set_enabled(false);
  else
    at::autocast::set_cpu_enabled(false);
#endif
  at::autocast::clear_cache();
}

}  // namespace cdae::train
