// cdae-import: writes the HDF5 dataset layout of docs/datasets.md from IDX
// files, Debian's Fashion-MNIST, a folder of PNGs or a CSV/TSV table, with the
// anomaly-detection protocol as options. No MPI, no LibTorch.
#include <iostream>
#include <string>

#include <cxxopts.hpp>

#include "data/importers.h"

namespace {

using namespace cdae;

const char* kUsage =
    "cdae-import SOURCE [options] --output FILE.h5\n"
    "  SOURCE: idx (--train-images/--train-labels [--test-images/--test-labels] [--class-names]),\n"
    "          fashion-mnist (Debian's dataset-fashion-mnist), png (--folder), table (--file [--label-column])";

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
  if (source == "table") return data::load_table(required("file"), text("label-column"));
  throw std::invalid_argument("unknown source '" + source + "' (accepted: idx, fashion-mnist, png, table)");
}

int run(int argc, char** argv) {
  cxxopts::Options options("cdae-import", kUsage);
  options.add_options()
      ("train-images", "idx: images of the train part (IDX, .gz or not)", cxxopts::value<std::string>())
      ("train-labels", "idx: their labels", cxxopts::value<std::string>())
      ("test-images", "idx: images of the test part (all go to the test split)", cxxopts::value<std::string>())
      ("test-labels", "idx: their labels", cxxopts::value<std::string>())
      ("class-names", "idx: comma-separated names of the label values (default: the digits)",
       cxxopts::value<std::string>())
      ("folder", "png: a folder with one sub-folder of PNGs per class", cxxopts::value<std::string>())
      ("file", "table: a CSV or TSV file of numbers with one label column", cxxopts::value<std::string>())
      ("label-column", "table: the label column, by name or 0-based index (default: the last)",
       cxxopts::value<std::string>())
      ("normal", "The normal classes, by name or id, comma-separated", cxxopts::value<std::string>())
      ("known", "The class that gives the labelled known defects (omit for none)", cxxopts::value<std::string>())
      ("known-count", "How many known defects are labelled in the train split", cxxopts::value<long long>())
      ("known-ratio", "Or their share gamma_l = m / (n + m) of the train split (n normal samples), e.g. 0.05",
       cxxopts::value<double>())
      ("pollution", "Share of the unlabelled train samples that are anomalies of the other classes",
       cxxopts::value<double>()->default_value("0"))
      ("val-fraction", "Share of the normal train samples (and of the known defects) held out for validation",
       cxxopts::value<double>()->default_value("0.1"))
      ("test-fraction", "png, table: share of every class drawn for the test split",
       cxxopts::value<double>()->default_value("0.2"))
      ("seed", "Seed of every random choice", cxxopts::value<unsigned long long>()->default_value("0"))
      ("o,output", "The HDF5 file to write", cxxopts::value<std::string>())
      ("h,help", "Show this help");
  if (argc < 2 || std::string(argv[1]) == "-h" || std::string(argv[1]) == "--help") {
    std::cout << options.help() << std::endl;
    return argc < 2 ? 1 : 0;
  }
  const std::string source_name = argv[1];
  const auto args = options.parse(argc - 1, argv + 1);
  if (args.count("help")) {
    std::cout << options.help() << std::endl;
    return 0;
  }
  if (!args.unmatched().empty()) throw std::invalid_argument("unexpected argument '" + args.unmatched().front() + "'");
  if (!args.count("output")) throw std::invalid_argument("--output FILE.h5 is required");
  if (!args.count("normal")) throw std::invalid_argument("--normal CLASSES is required");
  if (args.count("known-count") && args.count("known-ratio"))
    throw std::invalid_argument("--known-count and --known-ratio exclude each other");

  const auto source = load(source_name, args);
  data::ImportProtocol protocol;
  protocol.normal = data::parse_classes("--normal", args["normal"].as<std::string>(), source.class_names);
  if (args.count("known"))
    protocol.known = data::parse_classes("--known", args["known"].as<std::string>(), source.class_names).at(0);
  if (args.count("known-count")) protocol.known_count = args["known-count"].as<long long>();
  if (args.count("known-ratio")) protocol.known_ratio = args["known-ratio"].as<double>();
  protocol.pollution = args["pollution"].as<double>();
  protocol.val_fraction = args["val-fraction"].as<double>();
  protocol.test_fraction = args["test-fraction"].as<double>();
  protocol.seed = args["seed"].as<unsigned long long>();
  const auto assignment = data::assign_samples(source.samples, source.class_names, source.has_test_part, protocol);

  std::string command = "cdae-import";
  for (int k = 1; k < argc; ++k) command += std::string(" ") + argv[k];
  const auto output = args["output"].as<std::string>();
  const auto n = data::write_dataset(output, source, assignment, command);
  std::cout << "# " << n << " samples of shape (";
  for (std::size_t k = 0; k < source.sample_shape.size(); ++k) std::cout << (k ? ", " : "") << source.sample_shape[k];
  std::cout << ") written to " << output << "; per split, label (class) count:\n" << assignment.summary;
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
