// The shape of a spatio-temporal autoencoder as plain numbers: layer widths,
// kernels and strides, and the frame sizes they fit. Torch-free, so that the
// config parser can refuse impossible sizes before anything is allocated, and
// checkpoints can carry the architecture as JSON for the Python reference.
#pragma once
#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cdae::model {

using Triple = std::array<int, 3>;  // (T, H, W)

struct ConvSpec {
  int out_channels;
  Triple kernel;
  Triple stride;
};

struct Architecture {
  std::string preset;
  int in_channels = 1;
  int seqlen = 21;
  int height = 101;
  int width = 101;
  double dropout = 0.5;
  std::array<ConvSpec, 3> encoder;  // Conv3d layers of the spatial encoder
  std::array<int, 3> lstm_hidden;   // ConvLSTM 1..3; the second one's output is the latent
  std::array<ConvSpec, 3> decoder;  // ConvTranspose3d layers of the spatial decoder
  // How the frame-by-frame layers (temporal kernel 1) are computed: "conv3d"
  // (the plain layers), "im2col" (im2col + GEMM, both layers), "conv2d" (the
  // encoder's as a 2-D convolution over frames; the decoder's as the other
  // transposed convolutions), "gemm" (both as one GEMM per sequence, model/sequence_gemm_conv.h)
  // or "direct" (as "gemm", but a layer with one image channel computes each
  // output from its window directly, model/frame_kernels.h). Each preset sets
  // its measured-faster form. Same function and parameters (model/frame_conv.h),
  // so it is not part of the JSON form.
  std::string frame_convs = "gemm";
  // The other transposed convolutions: by convolution kernels (model/conv_transpose.h,
  // fast on CPUs) or as torch::nn::ConvTranspose3d. Same function and parameters.
  bool native_deconvs = false;
  // The memory layout of the activations that the one-frame layers and the
  // transposed convolutions write (the seed's largest, 1.2 GB at 54 sequences):
  // channels-last (NDHWC) or NCDHW. The layers after them follow their input's
  // layout. Measured on CPUs, whole epochs at 2 ranks (docs/performance.md):
  // channels-last is faster for the cpu preset (its preset default), slower for
  // the seed and small presets, where oneDNN's channels-last weight gradients
  // cost more than its faster forward and input-gradient passes save.
  // Same function and parameters.
  bool channels_last = false;
  // Outside the reference (the seed preset keeps "none" and "relu"):
  // lstm_norm "layer" puts a layer norm (GroupNorm with one group: statistics
  // over channels and pixels of each sample and frame, per-channel scale and
  // shift) in front of every ConvLSTM, so that the encoder's output cannot
  // saturate the gates and the latent keeps depending on the input.
  // output "sigmoid" ends the decoder in a sigmoid instead of a ReLU: frames
  // are in [0, 1], and a sigmoid cannot die (a ReLU inactive at every pixel
  // passes no gradient and the model never learns).
  std::string lstm_norm = "none";  // none | layer
  std::string output = "relu";     // relu | sigmoid

  // (T, H, W) after each encoder layer; the last one is what the ConvLSTMs see.
  std::vector<Triple> encoder_sizes() const;
  // (T, H, W) after each decoder layer, starting from the encoder's last size.
  std::vector<Triple> decoder_sizes() const;
  // Elements of one sample's latent: lstm_hidden[1] * T' * H' * W'.
  long latent_size() const;
  // Multiply-accumulates of one sample's forward pass (convolutions only).
  double forward_macs_per_sample() const;
  // Empty when the sizes fit, else why not (naming seqlen/height/width).
  std::string size_problem() const;

  nlohmann::json to_json() const;
  static Architecture from_json(const nlohmann::json& j);
};

// "seed": the reference architecture (101x101x21 frames, 7,675,203 parameters
// for one channel). "cpu": the same layer structure at CPU scale (49x49
// frames, 16/32-channel layers, a 256-value latent) with a layer norm in front
// of every ConvLSTM and a sigmoid output: it learns motion in CPU-minutes.
// "small": 8-channel layers and 5x5 kernels on 37x37 frames, for tests that
// must run in seconds on a CPU (also with the layer norms and the sigmoid).
std::vector<std::string> preset_names();
// The preset's own lstm_norm and output (what "auto" means in a config).
std::pair<std::string, std::string> preset_defaults(const std::string& name);
const std::vector<std::string>& lstm_norm_names();
const std::vector<std::string>& output_names();
// Throws std::invalid_argument listing the presets if `name` is unknown.
Architecture make_preset(const std::string& name, int in_channels, int seqlen, int height, int width,
                         double dropout);
// Frame sizes (height = width) between lo and hi that the preset reproduces exactly.
std::vector<int> accepted_frame_sizes(const std::string& preset, int seqlen, int lo, int hi);

}  // namespace cdae::model
