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
  // How frame-by-frame layers (temporal kernel 1) are computed: as Conv3d, or
  // as im2col + GEMM (model/frame_conv.h). The same function and parameters,
  // so it is not part of the JSON form.
  bool im2col_frame_convs = false;

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
// for one channel). "small": the same layer structure with 8-channel layers and
// 5x5 kernels on 37x37 frames, for tests that must run in seconds on a CPU.
std::vector<std::string> preset_names();
// Throws std::invalid_argument listing the presets if `name` is unknown.
Architecture make_preset(const std::string& name, int in_channels, int seqlen, int height, int width,
                         double dropout);
// Frame sizes (height = width) between lo and hi that the preset reproduces exactly.
std::vector<int> accepted_frame_sizes(const std::string& preset, int seqlen, int lo, int hi);

}  // namespace cdae::model
