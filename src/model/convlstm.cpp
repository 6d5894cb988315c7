#include "model/convlstm.h"

namespace cdae::model {

ConvLSTMCellImpl::ConvLSTMCellImpl(int input_channels, int hidden) : hidden_channels(hidden) {
  conv = register_module(
      "conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(input_channels + hidden, 4 * hidden, 3).padding(1)));
}

std::pair<torch::Tensor, torch::Tensor> ConvLSTMCellImpl::forward(const torch::Tensor& x, const torch::Tensor& h,
                                                                  const torch::Tensor& c) {
  const auto gates = conv->forward(torch::cat({x, h}, 1)).chunk(4, 1);
  const auto i = torch::sigmoid(gates[0]);
  const auto f = torch::sigmoid(gates[1]);
  const auto o = torch::sigmoid(gates[2]);
  const auto g = torch::tanh(gates[3]);
  auto c_next = f * c + i * g;
  auto h_next = o * torch::tanh(c_next);
  return {h_next, c_next};
}

ConvLSTMImpl::ConvLSTMImpl(int input_channels, int hidden_channels) {
  cell = ConvLSTMCell(input_channels, hidden_channels);
  cell_list = register_module("cell_list", torch::nn::ModuleList(cell));
}

torch::Tensor ConvLSTMImpl::forward(const torch::Tensor& x) {
  const auto n = x.size(0), steps = x.size(1), height = x.size(3), width = x.size(4);
  auto h = torch::zeros({n, cell->hidden_channels, height, width}, x.options());
  auto c = torch::zeros_like(h);
  std::vector<torch::Tensor> outputs;
  outputs.reserve(steps);
  for (int64_t t = 0; t < steps; ++t) {
    std::tie(h, c) = cell->forward(x.select(1, t), h, c);
    outputs.push_back(h);
  }
  return torch::stack(outputs, 1);
}

}  // namespace cdae::model
