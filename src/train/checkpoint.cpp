#include "train/checkpoint.h"

#include <filesystem>
#include <iostream>

#include "io/file_writes.h"
#include "io/checksum.h"
#include "io/hdf5_file.h"
#include "model/autoencoder.h"

namespace cdae::train {

namespace {

// A model description as compared between a checkpoint and a config. The
// spatio-temporal family's goes through Architecture, so that files written
// before an option existed compare with the option's old value filled in;
// dropout changes no parameter.
nlohmann::json comparable_description(const nlohmann::json& description) {
  auto j = description.contains("family") ? description : model::Architecture::from_json(description).to_json();
  j.erase("dropout");
  return j;
}

std::vector<std::int64_t> shape_of(const torch::Tensor& t) { return t.sizes().vec(); }

// Writes a tensor and feeds its bytes to the checksum, in the order written.
void put(io::H5File& file, io::Fnv1a64& sum, const std::string& name, const torch::Tensor& tensor) {
  const auto t = tensor.detach().to(torch::kCPU).contiguous();
  sum.update(name);
  if (t.scalar_type() == torch::kInt64) {
    file.write_i64(name, shape_of(t), t.data_ptr<std::int64_t>());
  } else {
    const auto f = t.to(torch::kFloat32).contiguous();
    file.write_f32(name, shape_of(f), f.data_ptr<float>());
    sum.update(f.data_ptr<float>(), f.numel() * sizeof(float));
    return;
  }
  sum.update(t.data_ptr<std::int64_t>(), t.numel() * sizeof(std::int64_t));
}

// Reads a dataset into `target` (same shape), feeding the checksum like put().
void get(const io::H5File& file, io::Fnv1a64& sum, const std::string& name, torch::Tensor target) {
  if (!file.exists(name)) throw CheckpointError("checkpoint '" + file.path() + "' has no dataset '" + name + "'");
  std::vector<std::int64_t> shape;
  sum.update(name);
  torch::NoGradGuard no_grad;
  if (target.scalar_type() == torch::kInt64) {
    auto values = file.read_i64(name, &shape);
    if (shape != shape_of(target)) goto mismatch;
    sum.update(values.data(), values.size() * sizeof(std::int64_t));
    target.copy_(torch::from_blob(values.data(), target.sizes(), torch::kInt64));
    return;
  } else {
    auto values = file.read_f32(name, &shape);
    if (shape != shape_of(target)) goto mismatch;
    sum.update(values.data(), values.size() * sizeof(float));
    target.copy_(torch::from_blob(values.data(), target.sizes(), torch::kFloat32));
    return;
  }
mismatch:
  throw CheckpointError("checkpoint '" + file.path() + "': dataset '" + name + "' has shape " +
                        c10::str(c10::IntArrayRef(shape)) + ", the model expects " + c10::str(target.sizes()));
}

}  // namespace

void save_checkpoint(const std::string& path, model::Autoencoder& model, const Adam* adam,
                     const TrainingState& state, const CheckpointMeta& meta) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) io::ensure_writable_directory(parent.string());
  io::write_atomically(
      path,
      [&](const std::string& tmp) {
        io::H5File file(tmp, io::H5File::Mode::truncate);
        io::Fnv1a64 sum;
        const auto entries = model::state_dict(model);
        for (const auto& [name, tensor] : entries) put(file, sum, "/model/" + name, tensor);
        if (adam) {
          // Adam's parameters are the model's parameters, in named_parameters order.
          const auto named = model.named_parameters();
          for (size_t i = 0; i < adam->parameters.size(); ++i) {
            const std::string base = "/optimizer/" + named[i].key();
            put(file, sum, base + "/exp_avg", adam->exp_avg[i]);
            put(file, sum, base + "/exp_avg_sq", adam->exp_avg_sq[i]);
            put(file, sum, base + "/step", torch::full({}, adam->steps, torch::kInt64));
          }
        }
        if (meta.normal_centroid.defined()) put(file, sum, "/latent/normal_centroid", meta.normal_centroid);
        if (meta.defect_centroid.defined()) put(file, sum, "/latent/defect_centroid", meta.defect_centroid);
        file.set_attr("epoch", state.epoch);
        file.set_attr("loss_min", state.loss_min);
        file.set_attr("nonfinite_streak", state.nonfinite_streak);
        file.set_attr("skipped_steps", state.skipped_steps);
        file.set_attr("seed", static_cast<std::int64_t>(meta.seed));
        file.set_attr("world_size", static_cast<std::int64_t>(meta.world_size));
        file.set_attr("config", meta.config_json);
        file.set_attr("architecture", model.describe().dump());
        file.set_attr("version", std::string(CDAE_VERSION));
        file.set_attr("checksum", sum.hex());
        file.flush();
      },
      /*keep_previous=*/true);
}

TrainingState load_checkpoint(const std::string& path, model::Autoencoder& model, Adam* adam,
                              CheckpointMeta* meta) {
  if (!std::filesystem::exists(path)) throw CheckpointError("checkpoint '" + path + "' does not exist");
  try {
    io::H5File file(path, io::H5File::Mode::read);
    for (const char* attr : {"architecture", "checksum", "epoch"})
      if (!file.has_attr(attr))
        throw CheckpointError("checkpoint '" + path + "' has no attribute '" + attr + "' (not a cdae checkpoint?)");
    const auto stored = comparable_description(nlohmann::json::parse(file.attr_string("architecture")));
    const auto expected = comparable_description(model.describe());
    if (stored != expected)
      throw CheckpointError("checkpoint '" + path + "' holds another architecture:\n  file:   " + stored.dump() +
                            "\n  config: " + expected.dump());

    // Read into copies first: a failed checksum must leave the model untouched.
    io::Fnv1a64 sum;
    std::vector<std::pair<torch::Tensor, torch::Tensor>> staged;  // (destination, loaded)
    auto stage = [&](const std::string& name, const torch::Tensor& dest) {
      auto copy = torch::empty(dest.sizes(), dest.options().device(torch::kCPU));
      get(file, sum, name, copy);
      staged.emplace_back(dest, copy);
    };
    for (const auto& [name, tensor] : model::state_dict(model)) stage("/model/" + name, tensor);
    std::int64_t steps = 0;
    const bool has_optimizer = file.exists("/optimizer");
    if (adam && has_optimizer) {
      const auto named = model.named_parameters();
      for (size_t i = 0; i < adam->parameters.size(); ++i) {
        const std::string base = "/optimizer/" + named[i].key();
        stage(base + "/exp_avg", adam->exp_avg[i]);
        stage(base + "/exp_avg_sq", adam->exp_avg_sq[i]);
        auto step = torch::zeros({}, torch::kInt64);
        get(file, sum, base + "/step", step);
        steps = step.item<std::int64_t>();
      }
    } else if (has_optimizer) {
      // Not restored, but still part of the checksum.
      const auto named = model.named_parameters();
      for (size_t i = 0; i < named.size(); ++i) {
        const std::string base = "/optimizer/" + named[i].key();
        auto a = torch::empty_like(named[i].value(), torch::kCPU), b = torch::empty_like(a);
        auto s = torch::zeros({}, torch::kInt64);
        get(file, sum, base + "/exp_avg", a);
        get(file, sum, base + "/exp_avg_sq", b);
        get(file, sum, base + "/step", s);
      }
    }
    torch::Tensor centroids[2];
    const char* centroid_names[2] = {"/latent/normal_centroid", "/latent/defect_centroid"};
    for (int k = 0; k < 2; ++k)
      if (file.exists(centroid_names[k])) {
        centroids[k] = torch::empty({model.latent_size()});
        get(file, sum, centroid_names[k], centroids[k]);
      }
    if (sum.hex() != file.attr_string("checksum"))
      throw CheckpointError("checkpoint '" + path + "' is corrupted: checksum " + sum.hex() + " != stored " +
                            file.attr_string("checksum"));

    torch::NoGradGuard no_grad;
    for (auto& [dest, loaded] : staged) dest.copy_(loaded);
    if (adam && has_optimizer) adam->steps = steps;
    TrainingState state;
    state.epoch = file.attr_i64("epoch");
    state.loss_min = file.attr_f64("loss_min");
    if (file.has_attr("nonfinite_streak")) state.nonfinite_streak = file.attr_i64("nonfinite_streak");
    if (file.has_attr("skipped_steps")) state.skipped_steps = file.attr_i64("skipped_steps");
    if (meta) {
      meta->config_json = file.has_attr("config") ? file.attr_string("config") : "";
      meta->seed = file.has_attr("seed") ? static_cast<std::uint64_t>(file.attr_i64("seed")) : 0;
      meta->world_size = file.has_attr("world_size") ? static_cast<int>(file.attr_i64("world_size")) : 1;
      meta->normal_centroid = centroids[0];
      meta->defect_centroid = centroids[1];
    }
    return state;
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError("checkpoint '" + path + "' cannot be read: " + e.what());
  }
}

std::optional<TrainingState> load_checkpoint_with_fallback(const std::string& path,
                                                           model::Autoencoder& model,
                                                           Adam* adam, std::string* loaded_from,
                                                           CheckpointMeta* meta) {
  for (const std::string& candidate : {path, path + ".prev"}) {
    if (!std::filesystem::exists(candidate)) continue;
    try {
      auto state = load_checkpoint(candidate, model, adam, meta);
      if (loaded_from) *loaded_from = candidate;
      return state;
    } catch (const CheckpointError& e) {
      std::cerr << "cdae: warning: " << e.what() << "; trying the previous checkpoint" << std::endl;
    }
  }
  return std::nullopt;
}

}  // namespace cdae::train
