#include "model/dense_autoencoder.h"

#include <algorithm>
#include <stdexcept>

namespace cdae::model {

torch::nn::AnyModule output_activation(const std::string& output) {
  if (output == "sigmoid") return torch::nn::AnyModule(torch::nn::Sigmoid());
  if (output == "relu") return torch::nn::AnyModule(torch::nn::ReLU());
  if (output == "linear") return torch::nn::AnyModule(torch::nn::Identity());
  throw std::invalid_argument("model output '" + output + "' (accepted: sigmoid, linear, relu)");
}

torch::Tensor sample_code(const torch::Tensor& mean, const torch::Tensor& log_variance, bool training) {
  if (!training) return mean;
  return mean + (0.5 * log_variance).exp() * torch::randn_like(mean);
}

torch::Tensor encode(const torch::Tensor& features, torch::nn::Linear& to_mean, torch::nn::Linear& to_log_variance,
                     bool training, AutoencoderOutput& out) {
  out.latent = to_mean->forward(features);
  if (to_log_variance.is_empty()) return out.latent;
  out.log_variance = to_log_variance->forward(features);
  return sample_code(out.latent, out.log_variance, training);
}

namespace {
std::int64_t flat_size(const std::vector<std::int64_t>& shape) {
  std::int64_t d = 1;
  for (auto s : shape) d *= s;
  return d;
}
}  // namespace

DenseAutoencoderImpl::DenseAutoencoderImpl(const DenseOptions& o) : options(o) {
  if (o.sample_shape.empty() || o.hidden.empty() || o.latent < 1)
    throw std::invalid_argument("dense autoencoder: a sample shape, at least one hidden width and a latent size");
  const auto d = flat_size(o.sample_shape);
  // A zero width would build empty layers that train silently to nothing.
  if (d < 1 || *std::min_element(o.hidden.begin(), o.hidden.end()) < 1)
    throw std::invalid_argument("dense autoencoder: sample size " + std::to_string(d) +
                                " and every hidden width must be at least 1");
  // One statement per layer: the default initialisation draws in layer order.
  torch::nn::Sequential enc;
  std::int64_t in = d;
  for (int width : o.hidden) {
    enc->push_back(torch::nn::Linear(in, width));
    enc->push_back(torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.1)));
    in = width;
  }
  encoder = register_module("encoder", enc);
  to_mean = register_module("to_mean", torch::nn::Linear(in, o.latent));
  if (o.variational) to_log_variance = register_module("to_log_variance", torch::nn::Linear(in, o.latent));
  torch::nn::Sequential dec;
  std::int64_t from = o.latent;
  for (auto it = o.hidden.rbegin(); it != o.hidden.rend(); ++it) {
    dec->push_back(torch::nn::Linear(from, *it));
    dec->push_back(torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.1)));
    from = *it;
  }
  dec->push_back(torch::nn::Linear(from, d));
  dec->push_back(output_activation(o.output));
  decoder = register_module("decoder", dec);
}

AutoencoderOutput DenseAutoencoderImpl::forward(const torch::Tensor& x) {
  const auto h = encoder->forward(x.flatten(1));
  AutoencoderOutput out;
  const auto code = encode(h, to_mean, to_log_variance, is_training(), out);
  out.reconstruction = decoder->forward(code).reshape(x.sizes());
  return out;
}

nlohmann::json DenseAutoencoderImpl::describe() const {
  return {{"family", "dense"},           {"sample_shape", options.sample_shape}, {"hidden", options.hidden},
          {"latent", options.latent},    {"variational", options.variational},   {"output", options.output}};
}

double DenseAutoencoderImpl::forward_macs_per_sample() const {
  double macs = 0;
  double in = static_cast<double>(flat_size(options.sample_shape));
  for (int width : options.hidden) {
    macs += in * width;
    in = width;
  }
  macs += in * options.latent * (options.variational ? 2 : 1);
  // The decoder mirrors the encoder.
  double from = options.latent;
  for (auto it = options.hidden.rbegin(); it != options.hidden.rend(); ++it) {
    macs += from * *it;
    from = *it;
  }
  return macs + from * static_cast<double>(flat_size(options.sample_shape));
}

}  // namespace cdae::model
