#include "model/conv_autoencoder.h"

#include <stdexcept>

#include "model/dense_autoencoder.h"

namespace cdae::model {

namespace {
torch::nn::LeakyReLU leaky() { return torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.1)); }
}  // namespace

ConvAutoencoderImpl::ConvAutoencoderImpl(const ConvOptions& o) : options(o) {
  if (o.sample_shape.size() != 3)
    throw std::invalid_argument("the convolutional autoencoder takes images (C, H, W), got a sample shape of " +
                                std::to_string(o.sample_shape.size()) + " dimensions");
  if (o.sample_shape[0] < 1 || o.channels.empty() || o.latent < 1)
    throw std::invalid_argument("the convolutional autoencoder needs at least one input channel (got " +
                                std::to_string(o.sample_shape[0]) + "), one stage and a latent size");
  sizes.emplace_back(o.sample_shape[1], o.sample_shape[2]);
  for (std::size_t k = 0; k < o.channels.size(); ++k) {
    const auto [h, w] = sizes.back();
    if (h / 2 < 1 || w / 2 < 1)
      throw std::invalid_argument(std::to_string(o.channels.size()) + " pooling stages take " +
                                  std::to_string(o.sample_shape[1]) + "x" + std::to_string(o.sample_shape[2]) +
                                  " images below one pixel; use fewer stages");
    sizes.emplace_back(h / 2, w / 2);
  }
  const auto c_in = o.sample_shape[0];
  torch::nn::Sequential enc;
  std::int64_t in = c_in;
  for (int c : o.channels) {
    enc->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, c, 5).padding(2)));
    enc->push_back(leaky());
    enc->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2)));
    in = c;
  }
  encoder = register_module("encoder", enc);
  const auto [h_last, w_last] = sizes.back();
  const std::int64_t flat = o.channels.back() * h_last * w_last;
  to_mean = register_module("to_mean", torch::nn::Linear(flat, o.latent));
  if (o.variational) to_log_variance = register_module("to_log_variance", torch::nn::Linear(flat, o.latent));
  from_code = register_module("from_code", torch::nn::Linear(o.latent, flat));
  torch::nn::Sequential dec;
  for (std::size_t k = o.channels.size(); k-- > 0;) {
    const std::int64_t out = k == 0 ? c_in : o.channels[k - 1];
    // (in - 1) * 2 - 2 + 4 + p = 2 in + p: p = 1 gives back an odd size.
    const auto [h, w] = sizes[k];
    dec->push_back(torch::nn::ConvTranspose2d(torch::nn::ConvTranspose2dOptions(o.channels[k], out, 4)
                                                  .stride(2)
                                                  .padding(1)
                                                  .output_padding(std::vector<std::int64_t>{h % 2, w % 2})));
    if (k > 0) dec->push_back(leaky());
  }
  dec->push_back(output_activation(o.output));
  decoder = register_module("decoder", dec);
}

AutoencoderOutput ConvAutoencoderImpl::forward(const torch::Tensor& x) {
  const auto h = encoder->forward(x).flatten(1);
  AutoencoderOutput out;
  const auto code = encode(h, to_mean, to_log_variance, is_training(), out);
  const auto [h_last, w_last] = sizes.back();
  const auto maps = torch::leaky_relu(from_code->forward(code), 0.1).reshape({x.size(0), options.channels.back(), h_last, w_last});
  out.reconstruction = decoder->forward(maps);
  return out;
}

nlohmann::json ConvAutoencoderImpl::describe() const {
  return {{"family", "conv"},         {"sample_shape", options.sample_shape}, {"channels", options.channels},
          {"latent", options.latent}, {"variational", options.variational},   {"output", options.output}};
}

double ConvAutoencoderImpl::forward_macs_per_sample() const {
  const auto& c = options.channels;
  const auto pixels = [&](std::size_t k) { return static_cast<double>(sizes[k].first * sizes[k].second); };
  double macs = 0;
  for (std::size_t k = 0; k < c.size(); ++k) {
    const double in = k == 0 ? static_cast<double>(options.sample_shape[0]) : c[k - 1];
    // The convolution runs at the stage's input size; its transposed twin
    // scatters each of its (pooled) input pixels through a 4x4 kernel.
    macs += pixels(k) * in * c[k] * 25 + pixels(k + 1) * c[k] * in * 16;
  }
  const double flat = c.back() * pixels(c.size());
  return macs + flat * options.latent * (options.variational ? 3 : 2);  // code head(s) and from_code
}

}  // namespace cdae::model
