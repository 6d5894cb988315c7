#include "dist/gradient_buckets.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>

namespace cdae::dist {

namespace {

// Runs a callback after a node (here: a parameter's AccumulateGrad) has run.
struct AfterNode : torch::autograd::FunctionPostHook {
  explicit AfterNode(std::function<void()> fn) : callback(std::move(fn)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    callback();
    return outputs;
  }
  std::function<void()> callback;
};

}  // namespace

GradientBuckets::GradientBuckets(const std::vector<torch::Tensor>& parameters, std::size_t bucket_bytes)
    : parameters_(parameters), bucket_of_(parameters.size()) {
  std::vector<std::vector<std::size_t>> groups(1);
  std::size_t group_bytes = 0;
  for (std::size_t k = parameters.size(); k-- > 0;) {
    const std::size_t bytes = parameters[k].numel() * parameters[k].element_size();
    if (!groups.back().empty() && group_bytes + bytes > bucket_bytes) {
      groups.emplace_back();
      group_bytes = 0;
    }
    groups.back().push_back(k);
    group_bytes += bytes;
  }
  for (const auto& group : groups) {
    if (group.empty()) continue;
    std::int64_t total = 0;
    for (auto k : group) total += parameters_[k].numel();
    auto buffer = torch::zeros({total}, parameters_[group.front()].options().requires_grad(false));
    std::int64_t offset = 0;
    for (auto k : group) {
      auto& p = parameters_[k];
      p.mutable_grad() = buffer.narrow(0, offset, p.numel()).view(p.sizes());
      offset += p.numel();
      bucket_of_[k] = buffers_.size();
    }
    buffers_.push_back(buffer);
    size_.push_back(static_cast<int>(group.size()));
  }
  waiting_ = size_;
}

void GradientBuckets::overlap_with_backward(Communicator& comm) {
  // Also with one rank: a one-rank NCCL run then goes through the same hooks,
  // streams and events as a many-rank one (and the GPU check tests them).
  if (overlap_comm_) return;
  overlap_comm_ = &comm;
  for (std::size_t k = 0; k < parameters_.size(); ++k) {
    auto accumulator = torch::autograd::impl::grad_accumulator(parameters_[k]);
    const auto bucket = bucket_of_[k];
    accumulator->add_post_hook(std::make_unique<AfterNode>([this, bucket] { on_gradient_accumulated(bucket); }));
    accumulators_.push_back(std::move(accumulator));
  }
}

void GradientBuckets::on_gradient_accumulated(std::size_t bucket) {
  if (--waiting_[bucket] == 0) start_ready_buckets();
}

void GradientBuckets::start_ready_buckets() {
  while (next_to_start_ < buffers_.size() && waiting_[next_to_start_] <= 0) {
    pending_.push_back(overlap_comm_->start_all_reduce_sum(buffers_[next_to_start_]));
    ++next_to_start_;
  }
}

void GradientBuckets::zero() {
  for (auto& b : buffers_) b.zero_();
  waiting_ = size_;
  next_to_start_ = 0;
  pending_.clear();
}

void GradientBuckets::all_reduce(Communicator& comm) {
  if (overlap_comm_ == &comm) {
    // Buckets whose gradients never arrived (a parameter outside the graph) start now, in order.
    for (auto& w : waiting_) w = 0;
    start_ready_buckets();
    for (auto& p : pending_) p->wait();
    pending_.clear();
    return;
  }
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
