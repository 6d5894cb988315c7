// What a config builds: the batch source of `data.source` and the
// autoencoder of `model.family`, sized for that source's samples. The one
// place cdae-train, cdae-bench and cdae-infer make them.
#pragma once
#include <memory>
#include <vector>

#include "data/batch_source.h"
#include "model/autoencoder_model.h"
#include "train/config.h"

namespace cdae::train {

// Opens and checks an HDF5 dataset (data.source hdf5) or sets up the rotation
// generator. Errors name the file or key.
std::unique_ptr<data::BatchSource> make_batch_source(const Config& config, torch::Device device);

// The model for samples of `sample_shape`, on the CPU in float32. Throws
// ConfigError when the family cannot take that shape (naming the keys).
std::shared_ptr<model::Autoencoder> make_model(const Config& config, const std::vector<std::int64_t>& sample_shape);

// The sample shape the config's model takes without a data file: the
// rotation sequences', or the dataset file's (data.path) for hdf5.
std::vector<std::int64_t> configured_sample_shape(const Config& config);

}  // namespace cdae::train
