#include "dist/gradient_buckets.h"

namespace cdae::dist {

GradientBuckets::GradientBuckets(const std::vector<torch::Tensor>& parameters, std::size_t bucket_bytes) {
  std::vector<std::vector<torch::Tensor>> groups(1);
  std::size_t group_bytes = 0;
  for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
    const std::size_t bytes = it->numel() * it->element_size();
    if (!groups.back().empty() && group_bytes + bytes > bucket_bytes) {
      groups.emplace_back();
      group_bytes = 0;
    }
    groups.back().push_back(*it);
    group_bytes += bytes;
  }
  for (auto& group : groups) {
    if (group.empty()) continue;
    std::int64_t total = 0;
    for (const auto& p : group) total += p.numel();
    auto buffer = torch::zeros({total}, group.front().options().requires_grad(false));
    std::int64_t offset = 0;
    for (auto& p : group) {
      p.mutable_grad() = buffer.narrow(0, offset, p.numel()).view(p.sizes());
      offset += p.numel();
    }
    buffers_.push_back(buffer);
  }
}

void GradientBuckets::zero() {
  for (auto& b : buffers_) b.zero_();
}

void GradientBuckets::all_reduce(Communicator& comm) {
  for (auto& b : buffers_) comm.all_reduce_sum(b);
}

bool GradientBuckets::all_finite() const {
  torch::Tensor ok;
  for (const auto& b : buffers_) {
    const auto finite = torch::isfinite(b).all();
    ok = ok.defined() ? ok.logical_and(finite) : finite;
  }
  return !ok.defined() || ok.item<bool>();
}

}  // namespace cdae::dist
