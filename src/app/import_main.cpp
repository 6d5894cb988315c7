// cdae-import: writes the HDF5 dataset layout of docs/datasets.md from IDX
// files, Debian's Fashion-MNIST, a folder of PNGs or a CSV/TSV table, with the
// anomaly-detection protocol as options. No MPI, no LibTorch.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "data/importers.h"
#include "io/file_writes.h"

namespace {

using namespace cdae;

const char* kUsage =
    "cdae-import SOURCE [source options] --normal CLASSES [protocol options] --output FILE.h5\n\n"
    "Writes the HDF5 dataset layout of docs/datasets.md (/samples, /labels, /split, class_names).\n"
    "SOURCE is one of\n"
    "  idx            --train-images F --train-labels F [--test-images F --test-labels F] [--class-names LIST]\n"
    "                 MNIST-style IDX files, gzipped or not; images become uint8 (N, 1, H, W)\n"
    "  fashion-mnist  Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), the ten names built in\n"
    "  png            --folder DIR: one sub-folder of PNGs per class, all of one size; colour is converted\n"
    "                 to gray, so samples are uint8 (N, 1, H, W)\n"
    "  table          --file F [--label-column NAME|INDEX] [--skip-lines N] [--class-names LIST] [--scale F]\n"
    "                 [--sample-shape C,H,W] [--standardize]: a CSV or TSV of numbers, gzipped or not;\n"
    "                 samples float32 (N, D), or (N, C, H, W) with --sample-shape\n"
    "Classes (--normal, --known) are given by name or by id (0-based, in the source's class order).\n"
    "Sources without a test part (png, table, idx without test files) draw --test-fraction of every class.";

// The options that belong to one source; giving them to another is a mistake.
const std::map<std::string, std::vector<std::string>> kSourceOptions = {
    {"idx", {"train-images", "train-labels", "test-images", "test-labels", "class-names"}},
    {"fashion-mnist", {}},
    {"png", {"folder"}},
    {"table", {"file", "label-column", "skip-lines", "class-names", "scale", "sample-shape", "standardize"}},
};

void check_source_options(const std::string& source, const cxxopts::ParseResult& args) {
  const auto accepted = kSourceOptions.find(source);
  if (accepted == kSourceOptions.end())
    throw std::invalid_argument("unknown source '" + source + "' (accepted: idx, fashion-mnist, png, table)");
  for (const auto& [other, options] : kSourceOptions)
    for (const auto& option : options)
      if (args.count(option) && other != source &&
          std::find(accepted->second.begin(), accepted->second.end(), option) == accepted->second.end())
        throw std::invalid_argument("--" + option + " is an option of '" + other + "', not of '" + source + "'");
}

data::LabelledSource load(const std::string& source, const cxxopts::ParseResult& args) {
  auto text = [&](const char* name) { return args.count(name) ? args[name].as<std::string>() : std::string(); };
  auto required = [&](const char* name) {
    if (!args.count(name)) throw std::invalid_argument("'" + source + "' needs --" + name);
    return args[name].as<std::string>();
  };
  if (source == "idx")
    return data::load_idx(required("train-images"), required("train-labels"), text("test-images"),
                          text("test-labels"), text("class-names"));
  if (source == "fashion-mnist") return data::load_fashion_mnist();
  if (source == "png") return data::load_png_folder(required("folder"));
  data::TableImport table;
  table.label_column = text("label-column");
  table.skip_lines = args["skip-lines"].as<long long>();
  table.class_names = text("class-names");
  table.scale = args["scale"].as<double>();
  if (args.count("sample-shape")) table.sample_shape = data::parse_shape("--sample-shape", text("sample-shape"));
  return data::load_table(required("file"), table);
}

data::ImportProtocol protocol_from(const cxxopts::ParseResult& args, const std::vector<std::string>& class_names) {
  if (!args.count("normal")) throw std::invalid_argument("--normal CLASSES is required");
  if (args.count("known-count") && args.count("known-ratio"))
    throw std::invalid_argument("--known-count and --known-ratio exclude each other");
  data::ImportProtocol protocol;
  protocol.normal = data::parse_classes("--normal", args["normal"].as<std::string>(), class_names);
  if (args.count("known")) {
    const auto known = data::parse_classes("--known", args["known"].as<std::string>(), class_names);
    if (known.size() != 1)
      throw std::invalid_argument("--known '" + args["known"].as<std::string>() + "' names " +
                                  std::to_string(known.size()) + " classes, the known defects come from one");
    protocol.known = known[0];
  }
  if (args.count("known-count")) {
    protocol.known_count = args["known-count"].as<long long>();
    if (protocol.known_count < 0)
      throw std::invalid_argument("--known-count " + std::to_string(protocol.known_count) + " is negative");
  }
  if (args.count("known-ratio")) protocol.known_ratio = args["known-ratio"].as<double>();
  protocol.pollution = args["pollution"].as<double>();
  protocol.val_fraction = args["val-fraction"].as<double>();
  protocol.test_fraction = args["test-fraction"].as<double>();
  protocol.seed = args["seed"].as<unsigned long long>();
  return protocol;
}

int run(int argc, char** argv) {
  cxxopts::Options options("cdae-import", kUsage);
  options.custom_help("SOURCE [OPTION...]");
  options.add_options()
      ("train-images", "idx: images of the train part (IDX, .gz or not)", cxxopts::value<std::string>())
      ("train-labels", "idx: their labels", cxxopts::value<std::string>())
      ("test-images", "idx: images of the test part (all go to the test split)", cxxopts::value<std::string>())
      ("test-labels", "idx: their labels", cxxopts::value<std::string>())
      ("class-names", "idx, table: comma-separated names of the classes in their order (idx: of the label "
                      "values 0, 1, ..., default the digits; table: of the label column's distinct values in "
                      "numeric or text order, one name each, default the values themselves)",
       cxxopts::value<std::string>())
      ("folder", "png: a folder with one sub-folder of PNGs per class (the sub-folder names are the classes)",
       cxxopts::value<std::string>())
      ("file", "table: a CSV or TSV file of numbers with one label column, gzipped or not (separator: by "
               "extension .csv/.tsv, .gz aside, "
               "else a tab if the first line has one; a first line that is not numbers is the header)",
       cxxopts::value<std::string>())
      ("label-column", "table: the label column, by header name or 0-based index (default: the last); "
                       "its distinct values are the classes",
       cxxopts::value<std::string>())
      ("skip-lines", "table: lines at the top of the file to drop before reading (a metadata line, as in "
                     "scikit-learn's bundled CSVs)",
       cxxopts::value<long long>()->default_value("0"))
      ("scale", "table: a factor every feature is multiplied by (e.g. 0.0625 for 0..16 pixels)",
       cxxopts::value<double>()->default_value("1"))
      ("sample-shape", "table: C,H,W (or any shape) the rows are reshaped to, e.g. 1,8,8 for 64 pixels; "
                       "default: vectors (D)",
       cxxopts::value<std::string>())
      ("standardize", "table: scale every feature to zero mean and unit variance over the unlabelled train "
                      "samples (after the protocol's draw; no val, test or labelled sample informs it)",
       cxxopts::value<bool>())
      ("normal", "The normal classes (label 0), by name or id, comma-separated (required)",
       cxxopts::value<std::string>())
      ("known", "The one class that gives the labelled known defects (label 1); omit for none (unsupervised)",
       cxxopts::value<std::string>())
      ("known-count", "m: how many known defects are labelled in the train split (default 0)",
       cxxopts::value<long long>())
      ("known-ratio", "Or m from gamma_l = m / (n + m), n = normal samples of the train split, e.g. 0.05",
       cxxopts::value<double>())
      ("pollution", "Share of the unlabelled train samples that are anomalies of the classes neither normal "
                    "nor known (they keep their labels >= 2)",
       cxxopts::value<double>()->default_value("0"))
      ("val-fraction", "Share of each normal class's train part held out for validation, and val-fraction * m "
                       "more known defects (at least 1 of each)",
       cxxopts::value<double>()->default_value("0.1"))
      ("test-fraction", "Share of every class drawn for the test split when the source has no test part",
       cxxopts::value<double>()->default_value("0.2"))
      ("seed", "Seed of every random choice", cxxopts::value<unsigned long long>()->default_value("0"))
      ("o,output", "The HDF5 file to write", cxxopts::value<std::string>())
      ("h,help", "Show this help");
  if (argc < 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    std::cout << options.help() << std::endl;
    return argc < 2 ? 1 : 0;
  }
  const std::string source_name = argv[1];
  if (source_name.rfind("-", 0) == 0)
    throw std::invalid_argument("the first argument is the SOURCE (idx, fashion-mnist, png, table), not '" +
                                source_name + "'");
  const auto args = options.parse(argc - 1, argv + 1);
  if (args.count("help")) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  if (!args.unmatched().empty()) throw std::invalid_argument("unexpected argument '" + args.unmatched().front() + "'");
  if (!args.count("output")) throw std::invalid_argument("--output FILE.h5 is required");
  check_source_options(source_name, args);
  const auto output = args["output"].as<std::string>();
  // Before the (possibly long) read: a bad output folder fails at once.
  io::ensure_writable_directory(std::filesystem::absolute(output).parent_path().string());

  const auto started = std::chrono::steady_clock::now();
  auto source = load(source_name, args);
  const auto protocol = protocol_from(args, source.class_names);
  const auto assignment = data::assign_samples(source.samples, source.class_names, source.has_test_part, protocol);
  const auto scaling = args.count("standardize") ? data::standardize(source, assignment) : std::string();

  std::string command = "cdae-import";
  for (int k = 1; k < argc; ++k) command += std::string(" ") + argv[k];
  const auto n = data::write_dataset(output, source, assignment,
                                     command + "\nprotocol: " + assignment.protocol +
                                         (scaling.empty() ? "" : "\nscaling: " + scaling));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "# " << n << " of " << source.samples.size() << " source samples, shape (";
  for (std::size_t k = 0; k < source.sample_shape.size(); ++k) std::cout << (k ? ", " : "") << source.sample_shape[k];
  std::cout << ") each, written to " << output << " in " << std::fixed << std::setprecision(1) << seconds << " s\n"
            << "# protocol: " << assignment.protocol << "\n"
            << (scaling.empty() ? "" : "# scaling: " + scaling + "\n")
            << data::summary_table(assignment);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "cdae-import: error: " << e.what() << std::endl;
    return 1;
  }
}
