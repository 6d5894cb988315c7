// Rotating-image sequences made on the compute device: one image is uploaded
// once, and each frame is an affine grid + bilinear sample of it, so nothing
// per-frame crosses the PCIe bus. On the CPU the same bilinear rotation is one
// loop per frame, written straight into the sequence layout.
#pragma once
#include <vector>

#include <torch/torch.h>

#include "io/png.h"

namespace cdae::data {

class RotationSequenceGenerator {
 public:
  // The image is replicated over `channels`.
  RotationSequenceGenerator(const io::GrayImage& image, int channels, torch::Device device);

  // angles_deg: row-major (n, seqlen). Returns float32 (n, C, seqlen, H, W):
  // frame (k, i) is the image rotated by angles_deg[k*seqlen + i] degrees
  // about pixel (W/2, H/2), counter-clockwise on screen, bilinear, zero
  // outside: OpenCV's warpAffine(getRotationMatrix2D(centre, angle, 1)).
  torch::Tensor generate(const std::vector<double>& angles_deg, std::int64_t n, int seqlen) const;

  int height() const { return static_cast<int>(image_.size(2)); }
  int width() const { return static_cast<int>(image_.size(3)); }
  torch::Device device() const { return image_.device(); }

 private:
  torch::Tensor image_;     // (1, C, H, W)
  torch::Tensor offset_x_;  // (H, W): x - cx
  torch::Tensor offset_y_;  // (H, W): y - cy
};

// cos and sin of an angle in degrees, exact for multiples of 90.
std::pair<double, double> cos_sin_degrees(double degrees);

}  // namespace cdae::data
