// cdae-train: trains the spatio-temporal autoencoder, conventional or
// contrastive, on every MPI rank of the job (mpirun -np N, srun, or plain).
#include <csignal>

#include "app/common.h"
#include "model/autoencoder.h"
#include "train/trainer.h"

namespace {
void on_stop_signal(int) { cdae::train::request_stop(); }
}  // namespace

int main(int argc, char** argv) {
  return cdae::app::run_main(argc, argv, [&] {
    cxxopts::Options options("cdae-train",
                             "Train a contrastive defect autoencoder. Launch with mpirun -np N or srun for data-parallel "
                             "training.\nOutputs (rank 0): path_save_model/{best,last,resume}.h5, best.txt, "
                             "progress.dat; path_scratch/*.png.\nSIGUSR1/SIGTERM: finish the epoch, write resume.h5, "
                             "exit 75; the same command resumes.\nExit status: 0 done, 75 stopped by a signal (requeue "
                             "me), 1 error.");
    cdae::app::add_config_options(options);
    cxxopts::ParseResult args;
    cdae::app::Session session;
    if (!cdae::app::start_session(options, argc, argv, args, session)) return 0;
    std::signal(SIGUSR1, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    const auto& c = session.config;
    if (session.rank0()) {
      std::string model_line;
      if (c.model.family == "spatiotemporal") {
        const auto arch = c.architecture();
        model_line = "preset " + arch.preset + " (" + std::to_string(c.height) + "x" + std::to_string(c.width) + "x" +
                     std::to_string(c.seqlen) + ", latent " + std::to_string(arch.latent_size()) + ")";
      } else {
        model_line = c.model.family + (c.model.variational ? " VAE" : " autoencoder") + " (latent " +
                     std::to_string(c.model.latent) + ") on " + c.data.path;
      }
      std::cout << "# cdae-train " << CDAE_VERSION << ": " << session.placement.world_size << " rank(s), backend "
                << session.comm->name() << ", device " << session.placement.device << ", " << model_line
                << ", " << (c.contrastive_phase() ? "contrastive" : "conventional") << " phase, precision "
                << c.precision << ", config " << session.config_path << std::endl;
      std::cout << "# " << cdae::dist::rank_layout(session.placement.node_of_rank) << std::endl;
    }
    cdae::train::Trainer trainer(session.config, session.config_path, session.overrides, *session.comm,
                                 session.placement.device);
    return trainer.run();
  });
}
