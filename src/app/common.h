// What every cdae executable does before and around its work: MPI, the
// config with --set overrides, this rank's device and communicator, and one
// error path that ends the whole job with the failing rank's message.
#pragma once
#include <csignal>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <cxxopts.hpp>

#include "app/host_memory.h"
#include "dist/world.h"
#include "train/config.h"
#include "train/precision.h"

namespace cdae::app {

inline void add_config_options(cxxopts::Options& options) {
  options.add_options()
      ("c,config", "JSON config file (the reference program's configs work unchanged)", cxxopts::value<std::string>())
      ("s,set", "Override a config key, e.g. --set contrastive_loss.n_outliers=8 (repeatable)",
       cxxopts::value<std::vector<std::string>>())
      ("h,help", "Show this help")
      ("version", "Print the version");
}

struct Session {
  train::Config config;
  std::string config_path;
  std::vector<std::string> overrides;
  dist::Placement placement;
  std::unique_ptr<dist::Communicator> comm;
  bool rank0() const { return placement.rank == 0; }
};

// Parses the common options; returns false when the program should exit 0
// (after --help or --version, printed by rank 0).
inline bool start_session(cxxopts::Options& options, int argc, char** argv, cxxopts::ParseResult& args,
                          Session& session) {
  args = options.parse(argc, argv);
  if (!args.unmatched().empty())
    throw std::invalid_argument("unexpected argument '" + args.unmatched().front() +
                                "' (options with an optional value take it as --option=VALUE; see --help)");
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (args.count("help")) {
    if (rank == 0) std::cout << options.help() << std::endl;
    return false;
  }
  if (args.count("version")) {
    if (rank == 0) std::cout << options.program() << " " << CDAE_VERSION << std::endl;
    return false;
  }
  if (!args.count("config")) throw std::invalid_argument("--config FILE is required (see --help)");
  session.config_path = args["config"].as<std::string>();
  if (args.count("set")) session.overrides = train::rejoin_json_lists(args["set"].as<std::vector<std::string>>());
  session.config = train::load_config(session.config_path, session.overrides);
  session.placement = dist::place_this_rank(session.config.device, session.config.dist.backend);
  session.comm = dist::make_communicator(session.placement, session.config.dist.timeout_s);
  train::configure_precision(session.config.precision);
  return true;
}

// Runs `body` with MPI set up; any exception ends every rank of the job with
// this rank's message and a non-zero status.
inline int run_main(int argc, char** argv, const std::function<int()>& body) {
  keep_freed_host_memory();
  dist::MpiSession mpi(&argc, &argv);
  try {
    return body();
  } catch (const std::exception& e) {
    dist::abort_job(e.what());
  }
}

}  // namespace cdae::app
