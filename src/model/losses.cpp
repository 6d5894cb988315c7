#include "model/losses.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace cdae::model {

torch::Tensor squared_error_sums(const torch::Tensor& reconstruction, const torch::Tensor& target) {
  return (reconstruction - target).square().sum({2, 3, 4});
}

torch::Tensor per_sample_loss(const torch::Tensor& sse, int seqlen, const std::string& loss_type) {
  const double scale = 1.0 / (static_cast<double>(seqlen) * sse.size(1));
  if (loss_type == "max") return std::get<0>(sse.max(1)) * scale;
  if (loss_type == "mse" || loss_type == "bce" || loss_type == "smooth_l1" || loss_type == "focal")
    return sse.sum(1) * scale;
  throw std::invalid_argument("loss_type '" + loss_type + "' (accepted: mse, max, bce, smooth_l1, focal)");
}

torch::Tensor recovery_mse(const torch::Tensor& local_sse, int seqlen, std::int64_t global_normal_count) {
  return local_sse.sum() / (static_cast<double>(seqlen) * local_sse.size(1) * global_normal_count);
}

torch::Tensor recovery_max(const torch::Tensor& global_sse, int seqlen) {
  return global_sse.max() / (static_cast<double>(seqlen) * global_sse.size(1));
}

torch::Tensor pairwise_distances(const torch::Tensor& a, const torch::Tensor& b) {
  const auto squared = (a.unsqueeze(1) - b.unsqueeze(0)).square().sum(2);
  // sqrt has an infinite derivative at 0; route zeros through a branch whose
  // gradient is exactly zero.
  const auto positive = squared > 0;
  const auto safe = torch::where(positive, squared, torch::ones_like(squared));
  return torch::where(positive, safe.sqrt(), torch::zeros_like(squared));
}

torch::Tensor contrastive_loss(const torch::Tensor& x, const torch::Tensor& y) {
  const auto n = x.size(0), m = y.size(0);
  if (m == 0 || n == 0) return torch::zeros({}, x.options());
  const auto d_xy = pairwise_distances(x, y).sum() / static_cast<double>(n * m);
  if (n < 2) return -d_xy;
  const auto d_xx = pairwise_distances(x, x).sum() / (static_cast<double>(n) * (n - 1) / 2.0);
  return d_xx - d_xy;
}

torch::Tensor margin_loss(const torch::Tensor& x, const torch::Tensor& y, double margin, bool to_every_normal) {
  if (x.size(0) == 0 || y.size(0) == 0) return torch::zeros({}, x.options());
  const double rms = 1.0 / std::sqrt(static_cast<double>(x.size(1)));
  const auto from = to_every_normal ? x : x.mean(0, /*keepdim=*/true);
  return torch::relu(margin - pairwise_distances(from, y) * rms).mean();
}

torch::Tensor infonce_loss(const torch::Tensor& x, const torch::Tensor& y, double temperature) {
  const auto n = x.size(0), m = y.size(0);
  if (n < 2 || m == 0) return torch::zeros({}, x.options());
  const auto z = torch::nn::functional::normalize(torch::cat({x, y}), torch::nn::functional::NormalizeFuncOptions().dim(1));
  const auto similarity = torch::mm(z.narrow(0, 0, n), z.t()) / temperature;  // (n, n + m): anchors x everything
  const auto self = torch::eye(n, n + m, torch::TensorOptions().dtype(torch::kBool).device(x.device()));
  const auto others = similarity.masked_fill(self, -std::numeric_limits<double>::infinity());
  const auto log_normaliser = torch::logsumexp(others, 1);
  const auto positives = similarity.narrow(1, 0, n).masked_fill(self.narrow(1, 0, n), 0.0).sum(1) / double(n - 1);
  return (log_normaliser - positives).mean();
}

torch::Tensor contrastive_term(const torch::Tensor& x, const torch::Tensor& y, const ContrastiveSettings& s) {
  if (s.kind == "seed") return contrastive_loss(x, y);
  if (s.kind == "margin") return margin_loss(x, y, s.margin, s.to_every_normal);
  if (s.kind == "infonce") return infonce_loss(x, y, s.temperature);
  throw std::invalid_argument("contrastive_loss.kind '" + s.kind + "' (accepted: seed, margin, infonce)");
}

}  // namespace cdae::model
