// Collectives that autograd can differentiate through, for terms of the loss
// that need data from every rank (docs/design.md, "One training step", 4 and 5).
#pragma once
#include "dist/communicator.h"

namespace cdae::dist {

// Forward: every rank's rows, concatenated in rank order. Backward: the
// gradient of the gathered tensor is summed over ranks and this rank's slice
// is kept. If each rank adds (1/N) * f(gathered) to its loss, the summed
// parameter gradient equals the single-process gradient of f.
torch::Tensor differentiable_all_gather(Communicator& comm, const torch::Tensor& local,
                                        const std::vector<std::int64_t>& rows);

// Forward: the sum over ranks. Backward: the gradient summed over ranks (every
// rank's loss depends on the global sum).
torch::Tensor differentiable_all_reduce(Communicator& comm, const torch::Tensor& tensor);

}  // namespace cdae::dist
