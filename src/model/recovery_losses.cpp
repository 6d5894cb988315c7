#include "model/recovery_losses.h"

#include <stdexcept>

namespace cdae::model {

namespace {

torch::Tensor element_loss(const torch::Tensor& p_raw, const torch::Tensor& y, const RecoveryLoss& loss) {
  if (loss.kind == "mse" || loss.kind == "max") return (p_raw - y).square();
  if (loss.kind == "smooth_l1") {
    const auto d = (p_raw - y).abs();
    return torch::where(d < 1.0, 0.5 * d.square(), d - 0.5);
  }
  const auto p = p_raw.clamp(1e-7, 1.0 - 1e-7);
  if (loss.kind == "bce") return -(y * p.log() + (1 - y) * (1 - p).log());
  if (loss.kind == "focal") {
    // Targets may lie between 0 and 1 (grey pixels): p_t and alpha_t interpolate.
    const auto p_t = y * p + (1 - y) * (1 - p);
    const auto alpha_t = y * loss.focal_alpha + (1 - y) * (1 - loss.focal_alpha);
    return -alpha_t * (1 - p_t).pow(loss.focal_gamma) * p_t.log();
  }
  throw std::invalid_argument("recovery loss '" + loss.kind + "' (accepted: mse, max, bce, smooth_l1, focal)");
}

}  // namespace

torch::Tensor recovery_element_sums(const torch::Tensor& reconstruction, const torch::Tensor& target,
                                    const RecoveryLoss& loss) {
  auto e = element_loss(reconstruction, target, loss);
  if (e.dim() == 2) return e.sum(1, /*keepdim=*/true);
  return e.flatten(2).sum(2);
}

const std::vector<std::string>& recovery_loss_names() {
  static const std::vector<std::string> names{"mse", "max", "bce", "smooth_l1", "focal"};
  return names;
}

bool needs_unit_interval(const std::string& kind) { return kind == "bce" || kind == "focal"; }

}  // namespace cdae::model
