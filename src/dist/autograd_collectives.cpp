#include "dist/autograd_collectives.h"

namespace cdae::dist {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

Communicator& comm_of(AutogradContext* ctx) {
  return *reinterpret_cast<Communicator*>(ctx->saved_data["comm"].toInt());
}

struct AllGatherRows : torch::autograd::Function<AllGatherRows> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor local, Communicator* comm,
                               std::vector<std::int64_t> rows) {
    ctx->saved_data["comm"] = reinterpret_cast<std::int64_t>(comm);
    std::int64_t offset = 0;
    for (int r = 0; r < comm->rank(); ++r) offset += rows[r];
    ctx->saved_data["offset"] = offset;
    ctx->saved_data["rows"] = rows[comm->rank()];
    return comm->all_gather_rows(local.contiguous(), rows);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto summed = grad[0].contiguous().clone();
    comm_of(ctx).all_reduce_sum(summed);
    const auto offset = ctx->saved_data["offset"].toInt(), rows = ctx->saved_data["rows"].toInt();
    return {summed.narrow(0, offset, rows), torch::Tensor(), torch::Tensor()};
  }
};

struct AllReduceSum : torch::autograd::Function<AllReduceSum> {
  static torch::Tensor forward(AutogradContext* ctx, torch::Tensor tensor, Communicator* comm) {
    ctx->saved_data["comm"] = reinterpret_cast<std::int64_t>(comm);
    auto out = tensor.contiguous().clone();
    comm->all_reduce_sum(out);
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    auto summed = grad[0].contiguous().clone();
    comm_of(ctx).all_reduce_sum(summed);
    return {summed, torch::Tensor()};
  }
};

}  // namespace

torch::Tensor differentiable_all_gather(Communicator& comm, const torch::Tensor& local,
                                        const std::vector<std::int64_t>& rows) {
  return AllGatherRows::apply(local, &comm, rows);
}

torch::Tensor differentiable_all_reduce(Communicator& comm, const torch::Tensor& tensor) {
  return AllReduceSum::apply(tensor, &comm);
}

}  // namespace cdae::dist
