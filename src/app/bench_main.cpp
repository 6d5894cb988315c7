// cdae-bench: times K epochs of a config after warm-up, on this machine's
// device(s), with the phases of an epoch measured separately (synchronising
// the device between phases, so the split costs a little overlap).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>

#include "app/common.h"
#include "app/op_profile.h"
#include "dist/gradient_buckets.h"
#include "train/adam.h"
#include "train/from_config.h"
#include "train/train_step.h"
#ifdef CDAE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <torch/cuda.h>
#endif

namespace {

using namespace cdae;
using Clock = std::chrono::steady_clock;

void sync(const torch::Device& device) {
#ifdef CDAE_WITH_CUDA
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
#endif
}

double peak_memory_mb(const torch::Device& device) {
#ifdef CDAE_WITH_CUDA
  if (device.is_cuda()) {
    // Index 0 of each stat array is the aggregate over pools, in LibTorch 1.x and 2.x alike.
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index());
    return static_cast<double>(stats.allocated_bytes[0].peak) / (1024.0 * 1024.0);
  }
#endif
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // kB -> MB (resident set of this process)
}

struct Phases {
  double data = 0, forward = 0, backward = 0, comm = 0, optimizer = 0, validation = 0;
  double total() const { return data + forward + backward + comm + optimizer + validation; }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  return app::run_main(argc, argv, [&] {
    cxxopts::Options options("cdae-bench",
                             "Milliseconds per epoch (training step + validation, data generation included) of a "
                             "config, split by phase, with TFLOP/s, MFU and peak memory. Works under mpirun (figures "
                             "of rank 0, collectives included).");
    app::add_config_options(options);
    options.add_options()
        ("epochs", "Timed epochs", cxxopts::value<int>()->default_value("20"))
        ("warmup", "Untimed epochs first", cxxopts::value<int>()->default_value("3"))
        ("peak-tflops", "Peak of the device for MFU (H100 bf16 dense, as measured: 790)",
         cxxopts::value<double>()->default_value("790"))
        ("profile-ops", "After the timed epochs, profile N more on rank 0 operator by operator and print each "
         "operator's self time per epoch (LibTorch's profiler; not part of the timed figures)",
         cxxopts::value<int>()->default_value("0"))
        ("profile-top", "Rows of the operator table", cxxopts::value<int>()->default_value("25"))
        ("profile-trace", "With --profile-ops, also write the Chrome trace of the profiled epochs to FILE",
         cxxopts::value<std::string>()->default_value(""))
        ("json", "Print one JSON object instead of the table");
    cxxopts::ParseResult args;
    app::Session s;
    if (!app::start_session(options, argc, argv, args, s)) return 0;
    const auto& c = s.config;
    const auto device = s.placement.device;
    auto& comm = *s.comm;
    const int rank = comm.rank(), world = comm.size();

    const auto source = train::make_batch_source(c, device);
    torch::manual_seed(c.seed);
    const auto model = train::make_model(c, source->sample_shape());
    model->to(device);
    if (c.precision == "fp64") model->to(torch::kFloat64);
    const auto params = model->parameters();
    dist::GradientBuckets buckets(params, static_cast<std::size_t>(c.dist.bucket_mb * 1024 * 1024));
    if (device.is_cpu() || comm.name() == "nccl") buckets.overlap_with_backward(comm);  // as the trainer
    train::Adam adam(params, {c.learning_rate, 0.9, 0.999, 1e-8, c.weight_decay});
    train::synchronize_batch_norm(*model, comm);
    train::broadcast_model(*model, comm);
    // One training batch and one validation batch per timed "epoch", as an
    // epoch of the reference (an epoch over a stored dataset is many of them).
    const data::BatchSizes sizes{c.batch_size_train, c.contrastive.n_outliers, c.batch_size_val,
                                 c.contrastive.n_outliers_val};
    source->check(sizes, world);
    const auto settings = train::loss_settings(c);
    const int warmup = args["warmup"].as<int>(), timed = args["epochs"].as<int>();
    const int profiled = args["profile-ops"].as<int>();
    if (profiled < 0) throw std::invalid_argument("--profile-ops must be >= 0, got " + std::to_string(profiled));
    app::OperatorProfile profile;
    std::vector<double> epoch_ms;
    Phases sum;
    auto now = [&] { sync(device); return Clock::now(); };
    auto ms = [](Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
    for (int epoch = 0; epoch < warmup + timed + profiled; ++epoch) {
      if (profiled > 0 && rank == 0 && epoch == warmup + timed) profile.start();
      Phases p;
      const auto t0 = now();
      train::seed_dropout(c.seed, epoch, rank);
      const auto batch = source->train_batch(epoch, epoch % source->train_batches(sizes), sizes, rank, world);
      const auto t1 = now();
      // The trainer's own step, with the clock read after each phase.
      Clock::time_point t2, t3, t4, t5;
      train::training_step(*model, comm, buckets, adam, batch, settings, 0.0, [&](train::StepPhase phase) {
        const auto t = now();
        switch (phase) {
          case train::StepPhase::forward: t2 = t; break;
          case train::StepPhase::backward: t3 = t; break;
          case train::StepPhase::gradient_sum: t4 = t; break;
          case train::StepPhase::update: t5 = t; break;
        }
      });
      train::validation_batch(*model, comm, source->val_batch(epoch, epoch % source->val_batches(sizes), sizes, rank,
                                                              world),
                              settings);
      const auto t6 = now();
      if (epoch < warmup || epoch >= warmup + timed) continue;
      p = {ms(t0, t1), ms(t1, t2), ms(t2, t3), ms(t3, t4), ms(t4, t5), ms(t5, t6)};
      epoch_ms.push_back(p.total());
      sum.data += p.data; sum.forward += p.forward; sum.backward += p.backward;
      sum.comm += p.comm; sum.optimizer += p.optimizer; sum.validation += p.validation;
    }
    if (rank != 0) return 0;
    if (profiled > 0) profile.stop(args["profile-trace"].as<std::string>());
    const std::string model_name =
        c.model.family == "spatiotemporal" ? c.model.preset : c.model.family + (c.model.variational ? " (VAE)" : "");
    const double train_samples = c.batch_size_train + c.contrastive.n_outliers;
    const double val_samples = c.batch_size_val + c.contrastive.n_outliers_val;
    // Training: forward + backward ~ 3 x forward; validation: forward only.
    const double flop_per_epoch = 2.0 * model->forward_macs_per_sample() * (3.0 * train_samples + val_samples);
    const double med = median(epoch_ms);
    const double tflops = flop_per_epoch / (med * 1e-3) / 1e12;
    const double peak = args["peak-tflops"].as<double>();
    const auto n = static_cast<double>(timed);
    const double mem = peak_memory_mb(device);
    const double lo = *std::min_element(epoch_ms.begin(), epoch_ms.end());
    const double hi = *std::max_element(epoch_ms.begin(), epoch_ms.end());
    const bool huge_pages = app::large_host_tensors_use_huge_pages();
    if (args.count("json")) {
      nlohmann::json j = {{"config", s.config_path}, {"model", model_name}, {"device", device.str()},
                          {"ranks", world}, {"backend", comm.name()}, {"precision", c.precision},
                          {"epochs", timed}, {"ms_per_epoch_median", med}, {"ms_per_epoch_min", lo},
                          {"ms_per_epoch_max", hi},
                          {"split_ms", {{"data", sum.data / n}, {"forward", sum.forward / n}, {"backward", sum.backward / n},
                                        {"comm", sum.comm / n}, {"optimizer", sum.optimizer / n},
                                        {"validation", sum.validation / n}}},
                          {"tflop_per_epoch", flop_per_epoch / 1e12}, {"tflops", tflops},
                          {"mfu", device.is_cuda() ? tflops / peak : -1.0}, {"peak_memory_mb", mem},
                          {"hours_for_20000_epochs", med * 20000 / 3.6e6},
                          {"host_huge_pages", huge_pages},
                          {"transparent_huge_pages", app::transparent_huge_page_mode()}};
      if (profiled > 0) {
        auto rows = nlohmann::json::array();
        for (const auto& r : profile.rows())
          if (static_cast<int>(rows.size()) < args["profile-top"].as<int>())
            rows.push_back({{"operator", r.name}, {"input_shapes", r.shapes}, {"calls", r.calls / profiled},
                            {"self_ms_per_epoch", r.self_ms / profiled}, {"total_ms_per_epoch", r.total_ms / profiled}});
        j["operators"] = {{"epochs", profiled}, {"self_ms_per_epoch", profile.recorded_ms() / profiled}, {"top", rows}};
      }
      std::cout << j.dump() << std::endl;
      return 0;
    }
    std::printf("cdae-bench  %s  model %s  device %s  ranks %d (%s)  precision %s\n", s.config_path.c_str(),
                model_name.c_str(), device.str().c_str(), world, comm.name().c_str(), c.precision.c_str());
    std::printf("  ms/epoch   median %.2f   min %.2f   max %.2f   (%d epochs after %d warm-up)\n", med, lo, hi, timed, warmup);
    std::printf("  split ms   data %.2f  forward %.2f  backward %.2f  comm %.2f  optimizer %.2f  validation %.2f\n",
                sum.data / n, sum.forward / n, sum.backward / n, sum.comm / n, sum.optimizer / n, sum.validation / n);
    std::printf("  %.4f TFLOP/epoch   %.3f TFLOP/s", flop_per_epoch / 1e12, tflops);
    if (device.is_cuda()) std::printf("   MFU %.1f%% of %.0f TFLOP/s", 100 * tflops / peak, peak);
    std::printf("\n  peak memory %.0f MB (%s)   20000 epochs: %.2f h\n", mem, device.is_cuda() ? "device" : "host RSS",
                med * 20000 / 3.6e6);
    std::printf("  host tensors of 2 MB and more on huge pages: %s (kernel THP mode %s)\n", huge_pages ? "yes" : "no",
                app::transparent_huge_page_mode().c_str());
    if (profiled > 0) profile.print(stdout, args["profile-top"].as<int>(), profiled);
    return 0;
  });
}
