#include "train/from_config.h"

#include "data/hdf5_batch_source.h"
#include "data/rotation_batch_source.h"
#include "data/source_image.h"
#include "io/strings.h"
#include "model/autoencoder.h"
#include "model/conv_autoencoder.h"
#include "model/dense_autoencoder.h"

namespace cdae::train {

std::unique_ptr<data::BatchSource> make_batch_source(const Config& c, torch::Device device) {
  if (c.data.source == "hdf5") {
    auto source = std::make_unique<data::Hdf5BatchSource>(data::Hdf5Dataset(c.data.path), c.seed, device);
    return source;
  }
  data::RotationBatchOptions options{c.seed, c.seqlen, {c.dtheta, false}, {c.contrastive.dtheta, false}};
  return std::make_unique<data::RotationBatchSource>(
      data::RotationSequenceGenerator(data::source_image(c.data.image, c.height, c.width), c.n_channels, device),
      c.n_channels, options);
}

std::vector<std::int64_t> configured_sample_shape(const Config& c) {
  if (c.data.source == "hdf5") return data::Hdf5Dataset(c.data.path).sample_shape();
  return {c.n_channels, c.seqlen, c.height, c.width};
}

std::shared_ptr<model::Autoencoder> make_model(const Config& c, const std::vector<std::int64_t>& sample_shape) {
  if (c.model.family == "spatiotemporal") {
    const std::vector<std::int64_t> expected{c.n_channels, c.seqlen, c.height, c.width};
    if (sample_shape != expected)
      throw ConfigError("config: the spatio-temporal model takes samples of (n_channels, seqlen, height, width) = " +
                        io::shape_string(expected) + " but the data's samples are " + io::shape_string(sample_shape) +
                        "; set those keys to the data's sizes");
    return std::make_shared<model::SpatioTemporalAutoencoderImpl>(c.architecture());
  }
  if (c.model.family == "dense") {
    model::DenseOptions o;
    o.sample_shape = sample_shape;
    o.hidden = c.model.hidden;
    o.latent = c.model.latent;
    o.variational = c.model.variational;
    o.output = c.family_output();
    return std::make_shared<model::DenseAutoencoderImpl>(o);
  }
  if (sample_shape.size() != 3)
    throw ConfigError("config: model.family conv takes images (C, H, W), but the data's samples are " +
                      io::shape_string(sample_shape) + "; use model.family dense for vectors");
  model::ConvOptions o;
  o.sample_shape = sample_shape;
  o.channels = c.model.channels;
  o.latent = c.model.latent;
  o.variational = c.model.variational;
  o.output = c.family_output();
  try {
    return std::make_shared<model::ConvAutoencoderImpl>(o);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("config: model.channels: ") + e.what());
  }
}

}  // namespace cdae::train
