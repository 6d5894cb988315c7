#include "eval/inference.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>
#include <regex>
#include <sstream>

#include "io/sequence_picture.h"
#include "model/losses.h"
#include "data/sample_rng.h"
#include "io/progress.h"

namespace cdae::eval {

std::uint64_t ClassSpec::stream() const {
  const auto base = static_cast<std::uint64_t>(data::Stream::inference) << 32;
  if (kind.random) return base | 0xffffffffULL;
  return base | static_cast<std::uint32_t>(std::llround(kind.dtheta * 1000.0) + (1LL << 30));
}

std::vector<ClassSpec> parse_classes(const std::string& list) {
  std::vector<ClassSpec> specs;
  std::stringstream s(list);
  std::string item;
  while (std::getline(s, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    ClassSpec spec;
    spec.label = item;
    if (item == "random") {
      spec.kind.random = true;
    } else {
      size_t used = 0;
      try {
        spec.kind.dtheta = std::stod(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || !std::isfinite(spec.kind.dtheta))
        throw std::invalid_argument("--classes: '" + item + "' is neither a rotation in degrees per frame nor 'random'");
    }
    specs.push_back(spec);
  }
  if (specs.empty()) throw std::invalid_argument("--classes: empty list");
  return specs;
}

namespace {

struct Scored {
  torch::Tensor losses, reconstructions, latents;
};

Scored score(model::Autoencoder& model, const torch::Tensor& input, const model::RecoveryLoss& loss) {
  torch::NoGradGuard no_grad;
  if (input.size(0) == 0) {  // a rank with no share of this chunk
    const auto options = input.options();
    return {torch::zeros({0}, options.dtype(torch::kFloat64)), torch::zeros_like(input),
            torch::zeros({0, model.latent_size()}, options)};
  }
  auto out = model.forward(input);
  auto recon = out.reconstruction.to(torch::kFloat32);
  const auto sums = model::recovery_element_sums(recon, input, loss);
  // Sequences per frame, as the reference; other samples per sample.
  const int frames = input.dim() == 5 ? static_cast<int>(input.size(2)) : 1;
  return {model::per_sample_loss(sums, frames, loss.kind).to(torch::kFloat64), recon, out.latent.to(torch::kFloat32)};
}

// input, recon: one channel of one sample, (T, H, W): side by side in dir/name.
void write_picture(const std::string& dir, const std::string& name, const torch::Tensor& input,
                   const torch::Tensor& recon) {
  const auto in = input.to(torch::kCPU, torch::kFloat32).contiguous();
  const auto re = recon.to(torch::kCPU, torch::kFloat32).contiguous();
  io::write_sequence_picture((std::filesystem::path(dir) / name).string(), {in.data_ptr<float>(), re.data_ptr<float>()},
                             static_cast<int>(in.size(-3)), static_cast<int>(in.size(-2)), static_cast<int>(in.size(-1)));
}

// The reference's per-sample picture: {index:06d}_{loss:.5f}.png.
void write_sample_picture(const std::string& dir, std::int64_t index, double loss, const torch::Tensor& input,
                          const torch::Tensor& recon) {
  char name[64];
  std::snprintf(name, sizeof name, "%06lld_%.5f.png", static_cast<long long>(index), loss);
  write_picture(dir, name, input, recon);
}

torch::Tensor distances_to(const torch::Tensor& latents, const torch::Tensor& centroid) {
  return (latents - centroid.to(latents.device()).unsqueeze(0)).square().sum(1).sqrt();
}

}  // namespace

int remove_sample_pictures(const std::string& dir) {
  static const std::regex picture(R"(^[0-9]{6}_-?([0-9]+\.[0-9]{5}|nan|inf)\.png$)");
  int removed = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && std::regex_match(entry.path().filename().string(), picture))
      removed += std::filesystem::remove(entry.path(), ec) ? 1 : 0;
  return removed;
}

ClassResult evaluate_class(model::Autoencoder& model, dist::Communicator& comm,
                           const data::RotationSequenceGenerator& generator, const ClassSpec& spec,
                           const InferenceSettings& settings, const std::string& picture_dir,
                           const PicturePolicy& pictures, bool print_lines) {
  model.eval();
  const int world = comm.size(), rank = comm.rank();
  const bool rank0 = rank == 0;
  const bool with_centroids = settings.normal_centroid.defined() && settings.defect_centroid.defined();
  ClassResult result;
  // Chunks of world*chunk samples: each rank scores its share of a chunk.
  const std::int64_t chunk_global = settings.chunk * world;
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  for (std::int64_t begin = 0; begin < settings.n_samples; begin += chunk_global) {
    const auto now = std::chrono::steady_clock::now();
    if (rank0 && begin > 0 && std::chrono::duration<double>(now - last_report).count() >= settings.progress_seconds) {
      last_report = now;
      const double elapsed = std::chrono::duration<double>(now - started).count();
      const double rate = begin / elapsed;
      std::printf("# progress: class %s: %lld/%lld samples, %.1f samples/s, ETA %s\n", spec.label.c_str(),
                   static_cast<long long>(begin), static_cast<long long>(settings.n_samples), rate,
                   io::format_duration((settings.n_samples - begin) / rate).c_str());
      std::fflush(stdout);
    }
    const std::int64_t count = std::min(chunk_global, settings.n_samples - begin);
    auto shard = data::even_shard(count, rank, world);
    const auto rows = data::shard_sizes(count, world);
    shard.begin += begin;
    shard.end += begin;
    const auto angles = data::sequence_angles(spec.kind, settings.seed, 0, spec.stream(), shard, settings.seqlen);
    const auto input = generator.generate(angles, shard.size(), settings.seqlen);
    const auto scored = score(model, input, settings.recovery);

    std::vector<torch::Tensor> local{scored.losses,
                                     torch::from_blob(const_cast<double*>(angles.data()),
                                                      {shard.size(), settings.seqlen}, torch::kFloat64)
                                         .select(1, 0)
                                         .to(scored.losses.device())};
    if (with_centroids) {
      local.push_back(distances_to(scored.latents, settings.normal_centroid).to(torch::kFloat64));
      local.push_back(distances_to(scored.latents, settings.defect_centroid).to(torch::kFloat64));
    }
    const auto gathered = comm.all_gather_rows(torch::stack(local, 1).contiguous(), rows).cpu();
    for (std::int64_t k = 0; k < count; ++k) {
      result.losses.push_back(gathered[k][0].item<double>());
      result.angle0.push_back(gathered[k][1].item<double>());
      if (with_centroids) {
        result.dist_normal.push_back(gathered[k][2].item<double>());
        result.dist_defect.push_back(gathered[k][3].item<double>());
      }
    }
    if (pictures.all && !picture_dir.empty()) {
      const auto inputs = comm.all_gather_rows(input, rows);
      const auto recons = comm.all_gather_rows(scored.reconstructions, rows);
      if (rank0)
        for (std::int64_t k = 0; k < count; ++k)
          write_sample_picture(picture_dir, begin + k, result.losses[begin + k], inputs[k][0], recons[k][0]);
    }
    if (rank0 && print_lines)
      for (std::int64_t k = 0; k < count; ++k)
        std::printf("%10lld  loss_v  %8.5f\n", static_cast<long long>(begin + k), result.losses[begin + k]);
  }
  if (rank0 && print_lines) std::fflush(stdout);

  if (!pictures.all && !picture_dir.empty() && rank0) {
    // The first and the worst samples, regenerated from their indices (the
    // data is a pure function of the index), on rank 0 alone.
    std::vector<std::int64_t> order(result.losses.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return result.losses[a] > result.losses[b]; });
    std::vector<std::int64_t> chosen;
    for (std::int64_t k = 0; k < std::min<std::int64_t>(pictures.first, settings.n_samples); ++k) chosen.push_back(k);
    for (std::int64_t k = 0; k < std::min<std::int64_t>(pictures.worst, settings.n_samples); ++k)
      chosen.push_back(order[k]);
    std::sort(chosen.begin(), chosen.end());
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    for (auto index : chosen) {
      const auto angles =
          data::sequence_angles(spec.kind, settings.seed, 0, spec.stream(), {index, index + 1}, settings.seqlen);
      const auto input = generator.generate(angles, 1, settings.seqlen);
      const auto scored = score(model, input, settings.recovery);
      write_sample_picture(picture_dir, index, result.losses[index], input[0][0], scored.reconstructions[0][0]);
    }
  }
  return result;
}

StoredResult evaluate_stored(model::Autoencoder& model, dist::Communicator& comm,
                             const torch::Tensor& sequences, const InferenceSettings& settings,
                             const std::string& source_name) {
  const auto expected = model.sample_shape();
  const auto s = sequences.sizes().vec();
  if (std::vector<std::int64_t>(s.begin() + 1, s.end()) != expected) {
    std::ostringstream m;
    m << source_name << ": sequences of shape " << sequences.sizes() << " do not fit the model, which takes (N";
    for (auto d : expected) m << ", " << d;
    m << ")";
    throw std::invalid_argument(m.str());
  }
  model.eval();
  const int world = comm.size(), rank = comm.rank();
  const auto n = sequences.size(0);
  const auto rows = data::shard_sizes(n, world);
  const auto shard = data::even_shard(n, rank, world);
  const auto device = model.parameters().front().device();
  std::vector<torch::Tensor> losses, recons, latents;
  for (std::int64_t begin = shard.begin; begin < shard.end; begin += settings.chunk) {
    const auto count = std::min(settings.chunk, shard.end - begin);
    const auto scored = score(model, sequences.narrow(0, begin, count).to(device), settings.recovery);
    losses.push_back(scored.losses);
    recons.push_back(scored.reconstructions);
    latents.push_back(scored.latents);
  }
  auto cat_or_empty = [&](std::vector<torch::Tensor>& parts, std::vector<std::int64_t> shape, torch::ScalarType dtype) {
    if (!parts.empty()) return torch::cat(parts).contiguous();
    shape[0] = 0;
    return torch::zeros(shape, torch::TensorOptions().dtype(dtype).device(device));
  };
  StoredResult out;
  out.losses = comm.all_gather_rows(cat_or_empty(losses, {0}, torch::kFloat64), rows).cpu();
  out.reconstructions =
      comm.all_gather_rows(cat_or_empty(recons, sequences.sizes().vec(), torch::kFloat32), rows).cpu();
  out.latents = comm.all_gather_rows(cat_or_empty(latents, {0, model.latent_size()}, torch::kFloat32), rows).cpu();
  return out;
}

DatasetResult evaluate_dataset(model::Autoencoder& model, dist::Communicator& comm, const data::Hdf5Dataset& dataset,
                               data::Split split, bool normal_only, const InferenceSettings& settings) {
  model.eval();
  const auto rows = dataset.indices(split, [&](std::int64_t label) { return !normal_only || label == 0; });
  const int world = comm.size(), rank = comm.rank();
  const auto device = model.parameters().front().device();
  const bool with_centroids = settings.normal_centroid.defined() && settings.defect_centroid.defined();
  DatasetResult result;
  const auto total = static_cast<std::int64_t>(rows.size());
  const std::int64_t chunk_global = settings.chunk * world;
  const auto started = std::chrono::steady_clock::now();
  auto last_report = started;
  for (std::int64_t begin = 0; begin < total; begin += chunk_global) {
    const auto now = std::chrono::steady_clock::now();
    if (rank == 0 && begin > 0 &&
        std::chrono::duration<double>(now - last_report).count() >= settings.progress_seconds) {
      last_report = now;
      const double rate = begin / std::chrono::duration<double>(now - started).count();
      std::printf("# progress: %lld/%lld samples, %.1f samples/s, ETA %s\n", static_cast<long long>(begin),
                  static_cast<long long>(total), rate, io::format_duration((total - begin) / rate).c_str());
      std::fflush(stdout);
    }
    const std::int64_t count = std::min(chunk_global, total - begin);
    const auto shard = data::even_shard(count, rank, world);
    const std::vector<std::int64_t> mine(rows.begin() + begin + shard.begin, rows.begin() + begin + shard.end);
    const auto scored = score(model, dataset.read(mine).to(device), settings.recovery);
    std::vector<torch::Tensor> local{scored.losses};
    if (with_centroids) {
      local.push_back(distances_to(scored.latents, settings.normal_centroid).to(torch::kFloat64));
      local.push_back(distances_to(scored.latents, settings.defect_centroid).to(torch::kFloat64));
    }
    const auto gathered =
        comm.all_gather_rows(torch::stack(local, 1).contiguous(), data::shard_sizes(count, world)).cpu();
    for (std::int64_t k = 0; k < count; ++k) {
      const auto row = rows[begin + k];
      result.index.push_back(row);
      result.label.push_back(dataset.labels()[row]);
      result.loss.push_back(gathered[k][0].item<double>());
      if (with_centroids) {
        result.dist_normal.push_back(gathered[k][1].item<double>());
        result.dist_defect.push_back(gathered[k][2].item<double>());
      }
    }
  }
  return result;
}

int write_dataset_pictures(model::Autoencoder& model, const data::Hdf5Dataset& dataset,
                           const std::vector<std::int64_t>& rows, const std::vector<double>& losses,
                           const std::string& dir) {
  const auto& shape = dataset.sample_shape();
  if (shape.size() < 3 || rows.empty()) return 0;
  model.eval();
  torch::NoGradGuard no_grad;
  const auto device = model.parameters().front().device();
  const auto input = dataset.read(rows);
  const auto recon = model.forward(input.to(device)).reconstruction.to(torch::kCPU, torch::kFloat32);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    // Channel 0, as (T, H, W); an image is one frame.
    auto in = input[k][0], re = recon[k][0];
    if (shape.size() == 3) {
      in = in.unsqueeze(0);
      re = re.unsqueeze(0);
    }
    char name[96];
    std::snprintf(name, sizeof name, "top%03zu_row%06lld_%.5f.png", k + 1, static_cast<long long>(rows[k]), losses[k]);
    write_picture(dir, name, in, re);
  }
  return static_cast<int>(rows.size());
}

}  // namespace cdae::eval
