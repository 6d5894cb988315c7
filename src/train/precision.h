// Numeric precision of the forward/backward pass: fp32, tf32 (CUDA matmul and
// cuDNN convolutions in TF32), bf16 (autocast; parameters, gradients and Adam
// stay float32), or fp64 (everything in double: for checks such as N ranks vs
// one rank, where float32 rounding would hide a real difference).
#pragma once
#include <string>

#include <torch/torch.h>

namespace cdae::train {

// Sets the process-wide TF32 switches for "tf32" (and clears them otherwise).
void configure_precision(const std::string& precision);

// Autocast to bfloat16 on `device` for the lifetime of the object when
// precision is "bf16"; otherwise does nothing.
class AutocastScope {
 public:
  AutocastScope(const std::string& precision, torch::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
};

}  // namespace cdae::train
