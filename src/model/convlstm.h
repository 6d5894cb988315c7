// Convolutional LSTM (Shi et al. 2015) as in the reference: one convolution of
// cat([x_t, h_{t-1}]) gives 4*hidden channels, split into gates i, f, o, g.
#pragma once
#include <torch/torch.h>

namespace cdae::model {

struct ConvLSTMCellImpl : torch::nn::Module {
  ConvLSTMCellImpl(int input_channels, int hidden_channels);
  // One time step: returns (h_t, c_t).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x, const torch::Tensor& h,
                                                  const torch::Tensor& c);
  int hidden_channels;
  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(ConvLSTMCell);

// One ConvLSTM layer over a sequence (N, T, C, H, W) -> (N, T, hidden, H, W);
// h and c start at zero. The cell sits in `cell_list` so that parameter names
// match the reference's state_dict ("convlstm_1.cell_list.0.conv.weight").
struct ConvLSTMImpl : torch::nn::Module {
  ConvLSTMImpl(int input_channels, int hidden_channels);
  torch::Tensor forward(const torch::Tensor& x);
  ConvLSTMCell cell{nullptr};
  torch::nn::ModuleList cell_list{nullptr};
};
TORCH_MODULE(ConvLSTM);

}  // namespace cdae::model
