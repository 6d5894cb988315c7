// The reference's losses, written so that the distributed trainer can combine
// per-rank pieces into exactly the single-process value (see docs/design.md):
// recovery terms are built from per-sample squared-error sums, and the
// contrastive term takes whatever (possibly gathered) latents it is given.
#pragma once
#include <string>

#include <torch/torch.h>

namespace cdae::model {

// Sum of squared errors over T, H, W for each sample and channel: (N, C).
torch::Tensor squared_error_sums(const torch::Tensor& reconstruction, const torch::Tensor& target);

// The per-sample loss of inference (batch size 1 in the reference), from (N, C) sums
// of the element losses (model/recovery_losses.h): max: max over channels / seqlen / C;
// mse and the other kinds: sum over channels / seqlen / C.
torch::Tensor per_sample_loss(const torch::Tensor& sse, int seqlen, const std::string& loss_type);

// Recovery loss "mse" from this rank's normal samples' sums: sum / seqlen / C /
// global_normal_count. Summed over ranks it is the reference's batch loss.
torch::Tensor recovery_mse(const torch::Tensor& local_sse, int seqlen, std::int64_t global_normal_count);

// Recovery loss "max" from ALL normal samples' sums (gathered): max / seqlen / C.
torch::Tensor recovery_max(const torch::Tensor& global_sse, int seqlen);

// Euclidean distances between the rows of a (n, D) and b (m, D): (n, m).
// The gradient of a zero distance is zero (not NaN).
torch::Tensor pairwise_distances(const torch::Tensor& a, const torch::Tensor& b);

// loss_c = d_xx - d_xy with d_xy = sum ||x_i - y_d|| / (n m) and
// d_xx = sum over ordered pairs ||x_i - x_j|| / (n (n-1) / 2), as the reference.
// x: normal latents (n, D), y: defect latents (m, D). Zero when m == 0.
torch::Tensor contrastive_loss(const torch::Tensor& x, const torch::Tensor& y);

// Hinge: each defect is pushed until it lies `margin` away from the normal
// group, then left alone, so the latent cannot run away. Distances are RMS per
// latent element (||a - b|| / sqrt(D)), so one margin suits every latent size.
// to_every_normal = false: from the normal centroid, mean_d relu(margin - d(y_d, mean x));
// true: from every normal latent, mean_{i,d} relu(margin - d(x_i, y_d)).
torch::Tensor margin_loss(const torch::Tensor& x, const torch::Tensor& y, double margin, bool to_every_normal);

// Supervised InfoNCE (NT-Xent) with normal anchors: for each normal latent,
// the other normal latents are its positives and the defects its negatives,
// on cosine similarities / temperature:
// mean_i [ logsumexp_{k != i} s_ik - mean_{j != i, j normal} s_ij ].
// Zero when there are fewer than two normal latents or no defect.
torch::Tensor infonce_loss(const torch::Tensor& x, const torch::Tensor& y, double temperature);

// The term named by `kind` (seed | margin | infonce).
struct ContrastiveSettings {
  std::string kind = "seed";
  double margin = 0.5;
  bool to_every_normal = false;
  double temperature = 0.1;
};
torch::Tensor contrastive_term(const torch::Tensor& x, const torch::Tensor& y, const ContrastiveSettings& settings);

}  // namespace cdae::model
