#include "train/precision.h"

#include <ATen/autocast_mode.h>

namespace cdae::train {

void configure_precision(const std::string& precision) {
  const bool tf32 = precision == "tf32";
  at::globalContext().setAllowTF32CuBLAS(tf32);
  at::globalContext().setAllowTF32CuDNN(tf32);
}

AutocastScope::AutocastScope(const std::string& precision, torch::Device device) {
  if (precision != "bf16") return;
  active_ = true;
  cuda_ = device.is_cuda();
  const auto type = cuda_ ? at::kCUDA : at::kCPU;
  at::autocast::set_autocast_dtype(type, at::kBFloat16);
  at::autocast::set_autocast_enabled(type, true);
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  at::autocast::set_autocast_enabled(cuda_ ? at::kCUDA : at::kCPU, false);
  at::autocast::clear_cache();
}

}  // namespace cdae::train
