// cdae-infer: recovery losses of a trained model, sharded over MPI ranks.
//   default:      n_samples sequences of the configured kind, as the reference
//   --classes:    every listed class in one run, with a summary table
//   --input FILE: sequences stored in an HDF5 dataset
#include <filesystem>
#include <iostream>

#include "app/common.h"
#include "data/sequence_tensor.h"
#include "data/source_image.h"
#include "eval/dataset_report.h"
#include "eval/inference.h"
#include "eval/metrics.h"
#include "eval/report.h"
#include "io/file_writes.h"
#include "io/hdf5_file.h"
#include "train/checkpoint.h"
#include "train/from_config.h"
#include "train/train_step.h"

namespace {

using namespace cdae;

std::string weights_path(const cxxopts::ParseResult& args, const train::Config& c) {
  std::string path = args.count("weights") ? args["weights"].as<std::string>() : c.inference.weights;
  // Reference configs name PyTorch's best.pth; cdae writes the same state as best.h5.
  const std::filesystem::path p(path);
  if (p.extension() == ".pth" && !std::filesystem::exists(p)) path = p.parent_path() / (p.stem().string() + ".h5");
  return path;
}

// Rank 0 loads the checkpoint; model and centroids go to every rank.
void load_weights(const std::string& path, model::Autoencoder& model, dist::Communicator& comm,
                  eval::InferenceSettings& settings, bool rank0) {
  train::CheckpointMeta meta;
  auto flags = torch::zeros({2}, torch::kFloat64);
  if (rank0) {
    const auto state = train::load_checkpoint(path, model, nullptr, &meta);
    std::cout << "# weights " << path << " (epoch " << state.epoch << ")" << std::endl;
    flags[0] = meta.normal_centroid.defined() && meta.defect_centroid.defined() ? 1.0 : 0.0;
  }
  const auto device = model.parameters().front().device();
  auto flags_dev = flags.to(device);
  comm.broadcast(flags_dev, 0);
  train::broadcast_model(model, comm);
  if (flags_dev[0].item<double>() > 0) {
    const auto d = model.latent_size();
    auto normal = rank0 ? meta.normal_centroid.to(device) : torch::zeros({d}, torch::TensorOptions().device(device));
    auto defect = rank0 ? meta.defect_centroid.to(device) : torch::zeros({d}, torch::TensorOptions().device(device));
    comm.broadcast(normal, 0);
    comm.broadcast(defect, 0);
    settings.normal_centroid = normal;
    settings.defect_centroid = defect;
  }
}

void write_losses_h5(const std::string& path, const eval::ClassResult& r, const std::string& label) {
  io::write_atomically(path, [&](const std::string& tmp) {
    io::H5File f(tmp, io::H5File::Mode::truncate);
    const std::int64_t n = static_cast<std::int64_t>(r.losses.size());
    f.write_f64("losses", {n}, r.losses.data());
    f.write_f64("angle0", {n}, r.angle0.data());
    f.set_attr("class", label);
    if (!r.dist_normal.empty()) {
      f.write_f64("latent_dist_normal", {n}, r.dist_normal.data());
      f.write_f64("latent_dist_defect", {n}, r.dist_defect.data());
    }
  });
}

int run_input(const cxxopts::ParseResult& args, model::Autoencoder& model, app::Session& s,
              const eval::InferenceSettings& settings) {
  const auto input = args["input"].as<std::string>();
  const auto dataset = args["dataset"].as<std::string>();
  if (!args.count("output")) throw std::invalid_argument("--input needs --output FILE.h5");
  const auto output = args["output"].as<std::string>();
  const auto sequences = data::sequences_to_tensor(io::read_sequences_h5(input, dataset));
  const auto r = eval::evaluate_stored(model, *s.comm, sequences, settings, input + ":" + dataset);
  if (s.rank0()) {
    io::write_atomically(output, [&](const std::string& tmp) {
      io::H5File f(tmp, io::H5File::Mode::truncate);
      f.write_f64("losses", {r.losses.size(0)}, r.losses.contiguous().data_ptr<double>());
      f.write_f32("reconstructions", r.reconstructions.sizes().vec(), r.reconstructions.data_ptr<float>());
      f.write_f32("latents", r.latents.sizes().vec(), r.latents.data_ptr<float>());
      f.set_attr("input", input + ":" + dataset);
      f.set_attr("loss_type", settings.recovery.kind);
    });
    for (std::int64_t k = 0; k < r.losses.size(0); ++k)
      std::printf("%10lld  loss_v  %8.5f\n", static_cast<long long>(k), r.losses[k].item<double>());
    std::cout << "# " << r.losses.size(0) << " sequences scored; losses and reconstructions in " << output << std::endl;
  }
  return 0;
}

// The test (or val) split of the config's HDF5 dataset: per-sample scores,
// flags with a threshold from the normal validation scores or a
// contamination ratio, the summary per class, histograms, top-k pictures.
int run_dataset(const cxxopts::ParseResult& args, model::Autoencoder& model, app::Session& s,
                const eval::InferenceSettings& settings) {
  const auto& c = s.config;
  const data::Hdf5Dataset dataset(c.data.path);
  const auto split_name = args["split"].as<std::string>();
  if (split_name != "test" && split_name != "val" && split_name != "train")
    throw std::invalid_argument("--split '" + split_name + "' (accepted: test, val, train)");
  const auto split = split_name == "test" ? data::Split::test : split_name == "val" ? data::Split::val
                                                                                    : data::Split::train;
  const auto result = eval::evaluate_dataset(model, *s.comm, dataset, split, false, settings);
  if (result.index.empty())
    throw std::invalid_argument("dataset file '" + c.data.path + "' has no sample in the " + split_name + " split");
  eval::DatasetScores scores;
  scores.index = result.index;
  scores.label = result.label;
  scores.loss = result.loss;
  scores.dist_normal = result.dist_normal;
  scores.dist_defect = result.dist_defect;
  scores.class_names = dataset.class_names();
  scores.dataset = c.data.path;
  scores.split = split_name;
  eval::Threshold threshold;
  if (args.count("contamination")) {
    threshold = eval::threshold_from_contamination(scores.loss, args["contamination"].as<double>());
  } else {
    const auto normal_val = eval::evaluate_dataset(model, *s.comm, dataset, data::Split::val, true, settings);
    if (normal_val.loss.empty())
      throw std::invalid_argument("dataset file '" + c.data.path + "' has no normal sample in the val split for "
                                  "the threshold; use --contamination R instead");
    threshold = eval::threshold_from_normal_quantile(normal_val.loss, args["threshold-quantile"].as<double>());
  }
  if (!s.rank0()) return 0;
  const std::string results = c.inference.results;
  io::ensure_writable_directory(results);
  auto in_results = [&](const std::string& name) { return (std::filesystem::path(results) / name).string(); };
  eval::write_scores_h5(in_results("scores.h5"), scores, threshold);
  eval::write_flags_tsv(in_results("flags.tsv"), scores, threshold);
  eval::write_score_histograms(in_results("hist.tsv"), scores);
  std::cout << eval::write_dataset_summary(in_results("summary.tsv"), eval::summarize_dataset(scores, threshold));
  const auto k = static_cast<std::size_t>(std::max(0, args["pictures"].as<int>()));
  std::vector<std::int64_t> rows;
  std::vector<double> losses;
  for (auto i : eval::top_k(scores.loss, k)) {
    rows.push_back(scores.index[i]);
    losses.push_back(scores.loss[i]);
  }
  const auto pictures = in_results("top");
  io::ensure_writable_directory(pictures);
  const int written = eval::write_dataset_pictures(model, dataset, rows, losses, pictures);
  std::cout << "# " << scores.loss.size() << " samples of the " << split_name << " split of " << c.data.path
            << " scored; threshold " << threshold.value << " (" << threshold.rule << ")\n"
            << "# results in " << results << ": flags.tsv, scores.h5, summary.tsv, hist.tsv"
            << (written ? ", top/ (pictures of the " + std::to_string(written) + " highest scores)" : std::string())
            << "; plot: python3 python/plot_scores.py " << results << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_main(argc, argv, [&] {
    cxxopts::Options options("cdae-infer",
                             "Recovery loss of a trained cdae model on generated or stored sequences (sharded over MPI "
                             "ranks; rank 0 writes).");
    app::add_config_options(options);
    options.add_options()
        ("w,weights", "Checkpoint to evaluate (default: inference.weights; a reference 'best.pth' means best.h5)",
         cxxopts::value<std::string>())
        ("classes", "Evaluate every class in one run: --classes alone for normal, defect, 2.1, 1.9, 1.0, 0, -2, "
                    "3, random; or --classes=LIST, e.g. --classes=2.0,2.1,random",
         cxxopts::value<std::string>()->implicit_value("default"))
        ("pictures", "With --classes: pictures of the first N and the N worst samples per class; with data.source "
                     "hdf5: of the N highest scores",
         cxxopts::value<int>()->default_value("4"))
        ("i,input", "Score sequences from this HDF5 file instead of generating them", cxxopts::value<std::string>())
        ("dataset", "Dataset in --input: (N,C,T,H,W) or (N,T,H,W), uint8 or float",
         cxxopts::value<std::string>()->default_value("sequences"))
        ("o,output", "With --input: HDF5 file for losses, reconstructions and latents", cxxopts::value<std::string>())
        ("chunk", "Samples per rank per forward pass", cxxopts::value<int>()->default_value("32"))
        ("split", "data.source hdf5: the split to score (test, val, train); the default mode there",
         cxxopts::value<std::string>()->default_value("test"))
        ("threshold-quantile", "data.source hdf5: flag scores above this quantile of the normal val scores",
         cxxopts::value<double>()->default_value("0.95"))
        ("contamination", "data.source hdf5: flag this fraction of the scored samples instead (e.g. 0.1)",
         cxxopts::value<double>());
    cxxopts::ParseResult args;
    app::Session s;
    if (!app::start_session(options, argc, argv, args, s)) return 0;
    const auto& c = s.config;
    const auto model = train::make_model(c, train::configured_sample_shape(c));
    model->to(s.placement.device);
    eval::InferenceSettings settings;
    settings.seed = c.seed;
    settings.seqlen = c.seqlen;
    settings.recovery = {c.inference.loss_type, c.focal.gamma, c.focal.alpha};
    settings.n_samples = c.inference.n_samples;
    settings.chunk = std::max(1, args["chunk"].as<int>());
    settings.progress_seconds = c.progress_seconds;
    load_weights(weights_path(args, c), *model, *s.comm, settings, s.rank0());
    if (args.count("input")) return run_input(args, *model, s, settings);
    if (c.data.source == "hdf5") return run_dataset(args, *model, s, settings);

    const data::RotationSequenceGenerator generator(data::source_image(c.data.image, c.height, c.width), c.n_channels,
                                                    s.placement.device);
    const std::string results = c.inference.results;
    // Pictures of an earlier run would mix with this run's: clear them (only them).
    auto prepare_folder = [&](const std::string& folder) {
      if (!s.rank0()) return;
      io::ensure_writable_directory(folder);
      if (const int removed = eval::remove_sample_pictures(folder))
        std::cout << "# removed " << removed << " per-sample pictures of an earlier run from " << folder << std::endl;
    };
    if (!args.count("classes")) prepare_folder(results);
    else if (s.rank0()) io::ensure_writable_directory(results);

    if (!args.count("classes")) {
      // The reference: one class, a picture and a line per sample, hist.dat.
      eval::ClassSpec spec{c.inference.random_seq ? "random" : c.json["dtheta"].dump(), {c.dtheta, c.inference.random_seq}};
      const auto r = eval::evaluate_class(*model, *s.comm, generator, spec, settings, results, {true, 0, 0}, true);
      if (s.rank0()) {
        const auto hist = eval::density_histogram(r.losses, eval::reference_bin_count(r.losses.size()));
        eval::write_hist_dat((std::filesystem::path(results) / "hist.dat").string(), hist);
        write_losses_h5((std::filesystem::path(results) / "losses.h5").string(), r, spec.label);
        std::cout << "# " << r.losses.size() << " samples of class " << spec.label << ": pictures, hist.dat and "
                  << "losses.h5 in " << results << std::endl;
      }
      return 0;
    }

    std::string list = args["classes"].as<std::string>();
    const std::string normal_label = c.json["dtheta"].dump();
    const std::string defect_label = c.json["contrastive_loss"]["dtheta"].dump();
    // The normal class, the defect, then the reference's other classes (a
    // defect that is one of them is listed once).
    if (list == "default") list = normal_label + "," + defect_label + ",2.1,1.9,1.0,0,-2,3,random";
    std::vector<eval::ClassSpec> specs;
    for (auto& spec : eval::parse_classes(list)) {
      bool seen = false;  // 2.0 and 2 are the same class
      for (const auto& other : specs) seen |= other.kind.random == spec.kind.random && other.kind.dtheta == spec.kind.dtheta;
      if (!seen) specs.push_back(spec);
    }
    auto find_label = [&](double dtheta) {
      for (const auto& spec : specs) if (!spec.kind.random && spec.kind.dtheta == dtheta) return spec.label;
      return std::string();
    };
    std::vector<eval::ClassScores> scores;
    for (const auto& spec : specs) {
      const auto folder = (std::filesystem::path(results) / eval::class_folder(spec.label)).string();
      prepare_folder(folder);
      const int k = args["pictures"].as<int>();
      const auto r = eval::evaluate_class(*model, *s.comm, generator, spec, settings, folder, {false, k, k}, false);
      scores.push_back({spec.label, r.losses, r.angle0, r.dist_normal, r.dist_defect});
      if (s.rank0()) std::cout << "# class " << spec.label << ": " << r.losses.size() << " samples" << std::endl;
    }
    if (s.rank0()) {
      std::cout << eval::write_report(results, scores, find_label(c.dtheta), find_label(c.contrastive.dtheta));
      std::cout << "# per-class folders, eval.h5 and summary.tsv in " << results << std::endl;
    }
    return 0;
  });
}
