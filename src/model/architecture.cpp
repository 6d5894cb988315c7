#include "model/architecture.h"

#include <sstream>
#include <stdexcept>
#include <tuple>

namespace cdae::model {

namespace {

// Conv3d without padding: floor((in - k) / s) + 1, or 0 when the kernel does not fit.
int conv_out(int in, int k, int s) { return in < k ? 0 : (in - k) / s + 1; }
int deconv_out(int in, int k, int s) { return (in - 1) * s + k; }

nlohmann::json spec_json(const ConvSpec& c) {
  return {{"out", c.out_channels}, {"kernel", c.kernel}, {"stride", c.stride}};
}
ConvSpec spec_from(const nlohmann::json& j) {
  return {j.at("out").get<int>(), j.at("kernel").get<Triple>(), j.at("stride").get<Triple>()};
}

}  // namespace

std::vector<Triple> Architecture::encoder_sizes() const {
  std::vector<Triple> sizes;
  Triple s{seqlen, height, width};
  for (const auto& layer : encoder) {
    for (int d = 0; d < 3; ++d) s[d] = conv_out(s[d], layer.kernel[d], layer.stride[d]);
    sizes.push_back(s);
  }
  return sizes;
}

std::vector<Triple> Architecture::decoder_sizes() const {
  std::vector<Triple> sizes;
  Triple s = encoder_sizes().back();
  for (const auto& layer : decoder) {
    for (int d = 0; d < 3; ++d) s[d] = deconv_out(s[d], layer.kernel[d], layer.stride[d]);
    sizes.push_back(s);
  }
  return sizes;
}

long Architecture::latent_size() const {
  const Triple s = encoder_sizes().back();
  return static_cast<long>(lstm_hidden[1]) * s[0] * s[1] * s[2];
}

double Architecture::forward_macs_per_sample() const {
  double macs = 0;
  int in_c = in_channels;
  const auto enc = encoder_sizes();
  for (int i = 0; i < 3; ++i) {
    const auto& l = encoder[i];
    macs += double(l.out_channels) * enc[i][0] * enc[i][1] * enc[i][2] * in_c * l.kernel[0] * l.kernel[1] *
            l.kernel[2];
    in_c = l.out_channels;
  }
  const Triple z = enc.back();
  const double pixels = double(z[0]) * z[1] * z[2];
  int lstm_in = in_c;
  for (int h : lstm_hidden) {
    macs += pixels * 4.0 * h * (lstm_in + h) * 9.0;
    lstm_in = h;
  }
  // A transposed convolution costs in_elements * out_channels * kernel volume.
  Triple s = z;
  in_c = lstm_in;
  const auto dec = decoder_sizes();
  for (int i = 0; i < 3; ++i) {
    const auto& l = decoder[i];
    macs += double(in_c) * s[0] * s[1] * s[2] * l.out_channels * l.kernel[0] * l.kernel[1] * l.kernel[2];
    s = dec[i];
    in_c = l.out_channels;
  }
  return macs;
}

std::string Architecture::size_problem() const {
  const auto enc = encoder_sizes();
  for (const auto& s : enc)
    if (s[0] < 1 || s[1] < 1 || s[2] < 1) {
      std::ostringstream m;
      m << "seqlen=" << seqlen << ", height=" << height << ", width=" << width
        << " are too small for the '" << preset << "' preset (a kernel does not fit)";
      return m.str();
    }
  const Triple out = decoder_sizes().back();
  if (out == Triple{seqlen, height, width}) return "";
  std::ostringstream m;
  m << "seqlen=" << seqlen << ", height=" << height << ", width=" << width << " do not fit the '" << preset
    << "' preset: the decoder would give " << out[0] << "x" << out[1] << "x" << out[2]
    << " (T x H x W), not the input size";
  return m.str();
}

nlohmann::json Architecture::to_json() const {
  nlohmann::json j = {{"preset", preset},       {"in_channels", in_channels}, {"seqlen", seqlen},
                      {"height", height},       {"width", width},             {"dropout", dropout},
                      {"lstm", lstm_hidden},        {"lstm_norm", lstm_norm},     {"output", output}};
  for (const auto& l : encoder) j["encoder"].push_back(spec_json(l));
  for (const auto& l : decoder) j["decoder"].push_back(spec_json(l));
  return j;
}

Architecture Architecture::from_json(const nlohmann::json& j) {
  Architecture a;
  a.preset = j.at("preset").get<std::string>();
  a.in_channels = j.at("in_channels").get<int>();
  a.seqlen = j.at("seqlen").get<int>();
  a.height = j.at("height").get<int>();
  a.width = j.at("width").get<int>();
  a.dropout = j.at("dropout").get<double>();
  a.lstm_hidden = j.at("lstm").get<std::array<int, 3>>();
  // Checkpoints written before these options existed hold the reference's choice.
  a.lstm_norm = j.value("lstm_norm", std::string("none"));
  a.output = j.value("output", std::string("relu"));
  for (int i = 0; i < 3; ++i) {
    a.encoder[i] = spec_from(j.at("encoder").at(i));
    a.decoder[i] = spec_from(j.at("decoder").at(i));
  }
  return a;
}

std::vector<std::string> preset_names() { return {"seed", "cpu", "small"}; }

std::pair<std::string, std::string> preset_defaults(const std::string& name) {
  if (name == "seed") return {"none", "relu"};
  return {"layer", "sigmoid"};
}

const std::vector<std::string>& lstm_norm_names() {
  static const std::vector<std::string> names{"none", "layer"};
  return names;
}

const std::vector<std::string>& output_names() {
  static const std::vector<std::string> names{"relu", "sigmoid"};
  return names;
}

Architecture make_preset(const std::string& name, int in_channels, int seqlen, int height, int width,
                         double dropout) {
  Architecture a;
  a.preset = name;
  a.in_channels = in_channels;
  a.seqlen = seqlen;
  a.height = height;
  a.width = width;
  a.dropout = dropout;
  std::tie(a.lstm_norm, a.output) = preset_defaults(name);
  if (name == "seed") {
    a.encoder = {ConvSpec{128, {1, 13, 13}, {1, 2, 2}}, ConvSpec{64, {5, 5, 5}, {3, 2, 2}},
                 ConvSpec{64, {5, 11, 11}, {2, 2, 2}}};
    a.lstm_hidden = {64, 32, 64};
    a.decoder = {ConvSpec{64, {5, 11, 11}, {2, 2, 2}}, ConvSpec{128, {5, 5, 5}, {4, 2, 2}},
                 ConvSpec{in_channels, {1, 13, 13}, {1, 2, 2}}};
  } else if (name == "cpu") {
    a.encoder = {ConvSpec{16, {1, 5, 5}, {1, 2, 2}}, ConvSpec{32, {5, 5, 5}, {3, 2, 2}},
                 ConvSpec{32, {5, 4, 4}, {2, 2, 2}}};
    a.lstm_hidden = {32, 16, 32};
    a.decoder = {ConvSpec{32, {5, 4, 4}, {2, 2, 2}}, ConvSpec{16, {5, 5, 5}, {4, 2, 2}},
                 ConvSpec{in_channels, {1, 5, 5}, {1, 2, 2}}};
    a.channels_last = true;  // 134 against 145 ms per epoch at 2 ranks (docs/performance.md)
    a.frame_convs = "direct";  // ~105 against ~137 ms (docs/performance.md)
  } else if (name == "small") {
    a.encoder = {ConvSpec{8, {1, 5, 5}, {1, 2, 2}}, ConvSpec{8, {5, 5, 5}, {3, 2, 2}},
                 ConvSpec{8, {5, 5, 5}, {2, 2, 2}}};
    a.lstm_hidden = {8, 4, 8};
    a.decoder = {ConvSpec{8, {5, 5, 5}, {2, 2, 2}}, ConvSpec{8, {5, 5, 5}, {4, 2, 2}},
                 ConvSpec{in_channels, {1, 5, 5}, {1, 2, 2}}};
    a.frame_convs = "direct";  // ~26 against ~31 ms per epoch at 2 ranks (docs/performance.md)
  } else {
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown model preset '" + name + "' (accepted: " + known + ")");
  }
  return a;
}

std::vector<int> accepted_frame_sizes(const std::string& preset, int seqlen, int lo, int hi) {
  std::vector<int> sizes;
  for (int s = lo; s <= hi; ++s)
    if (make_preset(preset, 1, seqlen, s, s, 0.0).size_problem().empty()) sizes.push_back(s);
  return sizes;
}

}  // namespace cdae::model
