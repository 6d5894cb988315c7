#include "train/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

namespace cdae::train {

using nlohmann::json;

json default_config_json() {
  const Config c;
  return json{
      {"n_channels", c.n_channels},
      {"path_save_model", c.path_save_model},
      {"path_scratch", c.path_scratch},
      {"batch_size_train", c.batch_size_train},
      {"batch_size_val", c.batch_size_val},
      {"seqlen", c.seqlen},
      {"height", c.height},
      {"width", c.width},
      {"learning_rate", c.learning_rate},
      {"epochs", c.epochs},
      {"loss_type", c.loss_type},
      {"dtheta", c.dtheta},
      {"contrastive_loss",
       {{"n_outliers", c.contrastive.n_outliers},
        {"n_outliers_val", c.contrastive.n_outliers_val},
        {"dtheta", c.contrastive.dtheta},
        {"kind", c.contrastive.kind},
        {"weight", c.contrastive.weight},
        {"margin", c.contrastive.margin},
        {"margin_to", c.contrastive.margin_to},
        {"temperature", c.contrastive.temperature},
        {"recovery_margin", c.contrastive.recovery_margin}}},
      {"inference",
       {{"results", c.inference.results},
        {"weights", c.inference.weights},
        {"loss_type", c.inference.loss_type},
        {"n_samples", c.inference.n_samples},
        {"random_seq", "False"}}},
      {"seed", c.seed},
      {"device", c.device},
      {"precision", c.precision},
      {"model",
       {{"preset", c.model.preset},
        {"dropout", c.model.dropout},
        {"frame_convs", c.model.frame_convs},
        {"deconvs", c.model.deconvs},
        {"memory_format", c.model.memory_format},
        {"lstm_norm", c.model.lstm_norm},
        {"output", c.model.output},
        {"family", c.model.family},
        {"hidden", c.model.hidden},
        {"channels", c.model.channels},
        {"latent", c.model.latent},
        {"variational", c.model.variational},
        {"beta", c.model.beta}}},
      {"data", {{"source", c.data.source}, {"image", c.data.image}, {"path", c.data.path}}},
      {"denoising", {{"noise", c.denoising.noise}, {"level", c.denoising.level}}},
      {"sparsity", {{"kind", c.sparsity.kind}, {"weight", c.sparsity.weight}, {"target", c.sparsity.target}}},
      {"focal", {{"gamma", c.focal.gamma}, {"alpha", c.focal.alpha}}},
      {"dist", {{"backend", c.dist.backend}, {"bucket_mb", c.dist.bucket_mb}, {"timeout_s", c.dist.timeout_s}}},
      {"checkpoint_every", c.checkpoint_every},
      {"picture_every", c.picture_every},
      {"max_nonfinite_steps", c.max_nonfinite_steps},
      {"weight_decay", c.weight_decay},
      {"progress_seconds", c.progress_seconds},
  };
}

namespace {

// Keys the reference wrote as "True"/"False" strings; booleans are accepted too.
bool is_bool_key(const std::string& key) { return key == "inference.random_seq"; }

std::string type_name(const json& v) {
  if (v.is_number_integer()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  return "null";
}

std::string known_keys(const json& defaults) {
  std::string s;
  for (auto it = defaults.begin(); it != defaults.end(); ++it) s += (s.empty() ? "" : ", ") + it.key();
  return s;
}

// Overlays `user` onto `merged` (a copy of the defaults), refusing unknown keys
// and values whose type differs from the default's.
void merge_checked(json& merged, const json& user, const std::string& prefix) {
  if (!user.is_object())
    throw ConfigError("config: '" + (prefix.empty() ? std::string("<top level>") : prefix) +
                      "' must be a JSON object, got " + type_name(user));
  for (auto it = user.begin(); it != user.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (!merged.contains(it.key()))
      throw ConfigError("config: unknown key '" + key + "' (accepted here: " + known_keys(merged) + ")");
    json& slot = merged[it.key()];
    const json& value = it.value();
    if (slot.is_object()) {
      merge_checked(slot, value, key);
    } else if (is_bool_key(key)) {
      const bool ok = value.is_boolean() ||
                      (value.is_string() && (value == "True" || value == "False" || value == "true" ||
                                             value == "false"));
      if (!ok) throw ConfigError("config: '" + key + "' must be \"True\" or \"False\", got " + value.dump());
      slot = value;
    } else if (slot.is_number_integer()) {
      // 100.0 is fine for an integer key; 2.5, 1e400 and values beyond 32 bits are not
      // (epochs and seed may be larger).
      const double limit = (key == "epochs" || key == "seed") ? 9.0e15 : 2147483647.0;
      const double v = value.is_number() ? value.get<double>() : 0.0;
      if (!value.is_number() || !std::isfinite(v) || v != std::floor(v))
        throw ConfigError("config: '" + key + "' must be an integer, got " + value.dump());
      if (std::fabs(v) > limit)
        throw ConfigError("config: '" + key + "' = " + value.dump() + " is out of range");
      slot = value.is_number_float() ? json(static_cast<std::int64_t>(v)) : value;
    } else if (slot.is_number()) {
      if (!value.is_number()) throw ConfigError("config: '" + key + "' must be a number, got " + value.dump());
      slot = value;
    } else if (slot.is_string()) {
      if (!value.is_string()) throw ConfigError("config: '" + key + "' must be a string, got " + value.dump());
      slot = value;
    } else if (slot.is_boolean()) {
      if (!value.is_boolean()) throw ConfigError("config: '" + key + "' must be true or false, got " + value.dump());
      slot = value;
    } else if (slot.is_array()) {
      // Lists of layer sizes: positive integers.
      bool ok = value.is_array() && !value.empty();
      for (const auto& item : ok ? value : json::array())
        ok = ok && item.is_number_integer() && item.get<std::int64_t>() >= 1 && item.get<std::int64_t>() <= 1 << 20;
      if (!ok)
        throw ConfigError("config: '" + key + "' must be a non-empty list of positive integers, got " + value.dump());
      slot = value;
    } else {
      slot = value;
    }
  }
}

template <typename T>
void require(bool ok, const std::string& key, const T& value, const std::string& accepted) {
  if (!ok) {
    std::ostringstream m;
    m << "config: '" << key << "' = " << value << " is out of range (accepted: " << accepted << ")";
    throw ConfigError(m.str());
  }
}

void require_one_of(const std::string& key, const std::string& value, const std::vector<std::string>& options) {
  if (std::find(options.begin(), options.end(), value) != options.end()) return;
  std::string list;
  for (const auto& o : options) list += (list.empty() ? "" : ", ") + o;
  throw ConfigError("config: '" + key + "' = \"" + value + "\" is not accepted (accepted: " + list + ")");
}

bool as_bool(const json& v) { return v.is_boolean() ? v.get<bool>() : (v == "True" || v == "true"); }

}  // namespace

model::Architecture Config::architecture() const {
  auto a = model::make_preset(model.preset, n_channels, seqlen, height, width, model.dropout);
  if (model.frame_convs != "auto") a.frame_convs = model.frame_convs;
  a.native_deconvs = model.deconvs == "native";
  if (model.memory_format != "auto") a.channels_last = model.memory_format == "channels_last";
  if (model.lstm_norm != "auto") a.lstm_norm = model.lstm_norm;
  if (model.output != "auto") a.output = model.output;
  return a;
}

std::string Config::phase() const {
  if (!contrastive_phase()) return "conventional";
  std::ostringstream s;
  s << "contrastive (kind " << contrastive.kind << ", defect dtheta " << contrastive.dtheta << ")";
  return s.str();
}

Config parse_config(const json& user) {
  json j = default_config_json();
  merge_checked(j, user, "");

  Config c;
  c.n_channels = j["n_channels"];
  c.path_save_model = j["path_save_model"];
  c.path_scratch = j["path_scratch"];
  c.batch_size_train = j["batch_size_train"];
  c.batch_size_val = j["batch_size_val"];
  c.seqlen = j["seqlen"];
  c.height = j["height"];
  c.width = j["width"];
  c.learning_rate = j["learning_rate"];
  c.epochs = j["epochs"];
  c.loss_type = j["loss_type"];
  c.dtheta = j["dtheta"];
  c.contrastive.n_outliers = j["contrastive_loss"]["n_outliers"];
  c.contrastive.n_outliers_val = j["contrastive_loss"]["n_outliers_val"];
  c.contrastive.dtheta = j["contrastive_loss"]["dtheta"];
  c.contrastive.kind = j["contrastive_loss"]["kind"];
  c.contrastive.weight = j["contrastive_loss"]["weight"];
  c.contrastive.margin = j["contrastive_loss"]["margin"];
  c.contrastive.margin_to = j["contrastive_loss"]["margin_to"];
  c.contrastive.temperature = j["contrastive_loss"]["temperature"];
  c.contrastive.recovery_margin = j["contrastive_loss"]["recovery_margin"];
  c.inference.results = j["inference"]["results"];
  c.inference.weights = j["inference"]["weights"];
  c.inference.loss_type = j["inference"]["loss_type"];
  c.inference.n_samples = j["inference"]["n_samples"];
  c.inference.random_seq = as_bool(j["inference"]["random_seq"]);
  require(j["seed"].get<std::int64_t>() >= 0, "seed", j["seed"], ">= 0");
  c.seed = j["seed"].get<std::uint64_t>();
  c.device = j["device"];
  c.precision = j["precision"];
  c.model.preset = j["model"]["preset"];
  c.model.dropout = j["model"]["dropout"];
  c.model.frame_convs = j["model"]["frame_convs"];
  c.model.deconvs = j["model"]["deconvs"];
  c.model.memory_format = j["model"]["memory_format"];
  c.model.lstm_norm = j["model"]["lstm_norm"];
  c.model.output = j["model"]["output"];
  c.model.family = j["model"]["family"];
  c.model.hidden = j["model"]["hidden"].get<std::vector<int>>();
  c.model.channels = j["model"]["channels"].get<std::vector<int>>();
  c.model.latent = j["model"]["latent"];
  c.model.variational = j["model"]["variational"];
  c.model.beta = j["model"]["beta"];
  c.data.source = j["data"]["source"];
  c.data.image = j["data"]["image"];
  c.data.path = j["data"]["path"];
  c.denoising.noise = j["denoising"]["noise"];
  c.denoising.level = j["denoising"]["level"];
  c.sparsity.kind = j["sparsity"]["kind"];
  c.sparsity.weight = j["sparsity"]["weight"];
  c.sparsity.target = j["sparsity"]["target"];
  c.focal.gamma = j["focal"]["gamma"];
  c.focal.alpha = j["focal"]["alpha"];
  c.dist.backend = j["dist"]["backend"];
  c.dist.bucket_mb = j["dist"]["bucket_mb"];
  c.dist.timeout_s = j["dist"]["timeout_s"];
  c.checkpoint_every = j["checkpoint_every"];
  c.picture_every = j["picture_every"];
  c.max_nonfinite_steps = j["max_nonfinite_steps"];
  c.weight_decay = j["weight_decay"];
  c.progress_seconds = j["progress_seconds"];

  require(c.n_channels >= 1 && c.n_channels <= 64, "n_channels", c.n_channels, "1..64");
  require(c.batch_size_train >= 2, "batch_size_train", c.batch_size_train, ">= 2");
  require(c.batch_size_val >= 1, "batch_size_val", c.batch_size_val, ">= 1");
  require(c.seqlen >= 1, "seqlen", c.seqlen, ">= 1");
  require(c.height >= 1 && c.height <= 4096, "height", c.height, "1..4096");
  require(c.width >= 1 && c.width <= 4096, "width", c.width, "1..4096");
  require(c.learning_rate > 0 && c.learning_rate < 1, "learning_rate", c.learning_rate, "0 < lr < 1");
  require(c.epochs >= 0, "epochs", c.epochs, ">= 0");
  const std::vector<std::string> recovery_losses{"mse", "max", "bce", "smooth_l1", "focal"};
  require_one_of("loss_type", c.loss_type, recovery_losses);
  require(std::isfinite(c.dtheta), "dtheta", c.dtheta, "a finite number of degrees per frame");
  require(std::isfinite(c.contrastive.dtheta), "contrastive_loss.dtheta", c.contrastive.dtheta,
          "a finite number of degrees per frame");
  require(c.progress_seconds < 1e9, "progress_seconds", c.progress_seconds, "< 1e9");
  require(c.contrastive.n_outliers >= 0, "contrastive_loss.n_outliers", c.contrastive.n_outliers, ">= 0");
  require(c.contrastive.n_outliers_val >= 0, "contrastive_loss.n_outliers_val", c.contrastive.n_outliers_val,
          ">= 0");
  require(!(c.contrastive.n_outliers > 0 && c.contrastive.n_outliers_val == 0), "contrastive_loss.n_outliers_val",
          c.contrastive.n_outliers_val, ">= 1 when contrastive_loss.n_outliers > 0");
  require(!(c.contrastive.n_outliers > 0 && c.batch_size_val < 2), "batch_size_val", c.batch_size_val,
          ">= 2 in the contrastive phase (the normal-normal distance needs two samples)");
  require_one_of("contrastive_loss.kind", c.contrastive.kind, {"seed", "margin", "infonce"});
  require(std::isfinite(c.contrastive.weight) && c.contrastive.weight >= 0, "contrastive_loss.weight",
          c.contrastive.weight, ">= 0");
  require(std::isfinite(c.contrastive.margin) && c.contrastive.margin > 0, "contrastive_loss.margin",
          c.contrastive.margin, "> 0");
  require_one_of("contrastive_loss.margin_to", c.contrastive.margin_to, {"centroid", "every"});
  require(std::isfinite(c.contrastive.recovery_margin) && c.contrastive.recovery_margin >= 0,
          "contrastive_loss.recovery_margin", c.contrastive.recovery_margin, ">= 0 (0: off)");
  require(std::isfinite(c.contrastive.temperature) && c.contrastive.temperature > 0 &&
              c.contrastive.temperature <= 100,
          "contrastive_loss.temperature", c.contrastive.temperature, "0 < t <= 100");
  require_one_of("inference.loss_type", c.inference.loss_type, recovery_losses);
  require(c.inference.n_samples >= 1, "inference.n_samples", c.inference.n_samples, ">= 1");
  require_one_of("device", c.device, {"auto", "cpu", "cuda"});
  require_one_of("precision", c.precision, {"fp32", "tf32", "bf16", "fp64"});
  require_one_of("model.preset", c.model.preset, model::preset_names());
  require(c.model.dropout >= 0 && c.model.dropout < 1, "model.dropout", c.model.dropout, "0 <= p < 1");
  require_one_of("model.frame_convs", c.model.frame_convs, {"auto", "direct", "gemm", "conv2d", "conv3d", "im2col"});
  require_one_of("model.deconvs", c.model.deconvs, {"conv_kernels", "native"});
  require_one_of("model.memory_format", c.model.memory_format, {"auto", "channels_last", "contiguous"});
  auto with_auto = [](std::vector<std::string> names) {
    names.insert(names.begin(), "auto");
    return names;
  };
  require_one_of("model.lstm_norm", c.model.lstm_norm, with_auto(model::lstm_norm_names()));
  require_one_of("model.family", c.model.family, {"spatiotemporal", "dense", "conv"});
  const bool spatiotemporal = c.model.family == "spatiotemporal";
  if (spatiotemporal)
    require_one_of("model.output", c.model.output, with_auto(model::output_names()));
  else
    require_one_of("model.output", c.model.output, {"auto", "sigmoid", "linear", "relu"});
  require(c.model.latent >= 1 && c.model.latent <= 1 << 20, "model.latent", c.model.latent, "1..1048576");
  require(!(c.model.variational && spatiotemporal), "model.variational", "true",
          "false for model.family spatiotemporal (the VAE is a dense or conv model)");
  require(std::isfinite(c.model.beta) && c.model.beta >= 0, "model.beta", c.model.beta, ">= 0");
  require_one_of("data.source", c.data.source, {"rotation", "hdf5"});
  require(!(c.data.source == "hdf5" && c.data.path.empty()), "data.path", "\"\"",
          "the HDF5 dataset file when data.source is hdf5");
  require(!(c.data.source == "rotation" && !spatiotemporal), "model.family", c.model.family,
          "spatiotemporal for the generated rotation sequences (data.source rotation); dense and conv train on "
          "data.source hdf5");
  require_one_of("denoising.noise", c.denoising.noise, {"none", "gaussian", "masking"});
  require(std::isfinite(c.denoising.level) && c.denoising.level >= 0 &&
              (c.denoising.noise != "masking" || c.denoising.level < 1),
          "denoising.level", c.denoising.level, ">= 0 (masking: < 1)");
  require_one_of("sparsity.kind", c.sparsity.kind, {"none", "l1", "kl"});
  require(std::isfinite(c.sparsity.weight) && c.sparsity.weight >= 0, "sparsity.weight", c.sparsity.weight, ">= 0");
  require(c.sparsity.target > 0 && c.sparsity.target < 1, "sparsity.target", c.sparsity.target, "0 < target < 1");
  require(std::isfinite(c.focal.gamma) && c.focal.gamma >= 0, "focal.gamma", c.focal.gamma, ">= 0");
  require(c.focal.alpha > 0 && c.focal.alpha < 1, "focal.alpha", c.focal.alpha, "0 < alpha < 1");
  for (const auto& [key, kind] : {std::pair<std::string, std::string>{"loss_type", c.loss_type},
                                  {"inference.loss_type", c.inference.loss_type}}) {
    const auto output = spatiotemporal ? c.architecture().output : c.family_output();
    require(!((kind == "bce" || kind == "focal") && output != "sigmoid"), key, kind,
            "mse, max or smooth_l1 unless the model ends in a sigmoid (model.output): bce and focal need "
            "reconstructions in (0, 1)");
  }
  require_one_of("dist.backend", c.dist.backend, {"auto", "mpi", "nccl"});
  require(c.dist.bucket_mb > 0 && c.dist.bucket_mb <= 4096, "dist.bucket_mb", c.dist.bucket_mb, "0 < MB <= 4096");
  require(c.dist.timeout_s == 0 || (c.dist.timeout_s >= 1 && c.dist.timeout_s <= 86400), "dist.timeout_s",
          c.dist.timeout_s, "0 (wait for ever) or 1 <= seconds <= 86400");
  require(c.checkpoint_every >= 1, "checkpoint_every", c.checkpoint_every, ">= 1");
  require(c.picture_every >= 1, "picture_every", c.picture_every, ">= 1");
  require(c.max_nonfinite_steps >= 1, "max_nonfinite_steps", c.max_nonfinite_steps, ">= 1");
  require(c.weight_decay >= 0, "weight_decay", c.weight_decay, ">= 0");
  require(c.progress_seconds >= 0, "progress_seconds", c.progress_seconds, ">= 0");

  // Stored data fixes its own sizes (checked against the file at start).
  const std::string problem = spatiotemporal ? c.architecture().size_problem() : "";
  if (!problem.empty()) {
    std::string sizes;
    for (int s : model::accepted_frame_sizes(c.model.preset, c.seqlen, 8, 256))
      sizes += (sizes.empty() ? "" : ", ") + std::to_string(s);
    throw ConfigError("config: " + problem + "; square frame sizes this preset accepts with seqlen=" +
                      std::to_string(c.seqlen) + ": " + (sizes.empty() ? "none (change seqlen)" : sizes));
  }
  c.json = j;
  return c;
}

std::vector<std::string> rejoin_json_lists(const std::vector<std::string>& pieces) {
  std::vector<std::string> joined;
  int depth = 0;        // open brackets of the override being joined, outside strings
  bool quoted = false;  // inside a JSON string of it
  auto scan = [&](const std::string& text) {
    for (std::size_t k = 0; k < text.size(); ++k) {
      const char ch = text[k];
      if (quoted) {
        if (ch == '\\') ++k;
        else if (ch == '"') quoted = false;
      } else if (ch == '"') {
        quoted = true;
      } else if (ch == '[' || ch == '{') {
        ++depth;
      } else if (ch == ']' || ch == '}') {
        --depth;
      }
    }
  };
  for (const auto& piece : pieces) {
    if (depth > 0) {
      joined.back() += "," + piece;
      scan(piece);
    } else {
      joined.push_back(piece);
      depth = 0;
      quoted = false;
      // Only a value that is a JSON list or object is joined: "name=x[1" is a string.
      const auto eq = piece.find('=');
      if (eq != std::string::npos && eq + 1 < piece.size() && (piece[eq + 1] == '[' || piece[eq + 1] == '{'))
        scan(piece.substr(eq + 1));
    }
  }
  return joined;
}

void apply_overrides(json& j, const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw ConfigError("--set '" + o + "': expected key=value, e.g. --set contrastive_loss.n_outliers=8");
    const std::string path = o.substr(0, eq);
    const std::string text = o.substr(eq + 1);
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;
    json* node = &j;
    std::stringstream parts(path);
    std::string part;
    std::vector<std::string> keys;
    while (std::getline(parts, part, '.')) keys.push_back(part);
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
      if (!node->contains(keys[i])) (*node)[keys[i]] = json::object();
      node = &(*node)[keys[i]];
      if (!node->is_object()) throw ConfigError("--set '" + o + "': '" + keys[i] + "' is not an object");
    }
    (*node)[keys.back()] = value;
  }
}

Config load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot open config file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  json j = json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) {
    // Parse again with exceptions on, for the position of the error.
    try {
      j = json::parse(text.str());
    } catch (const json::parse_error& e) {
      throw ConfigError("config file '" + path + "' is not valid JSON: " + e.what());
    }
  }
  try {
    apply_overrides(j, overrides);
    return parse_config(j);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

const std::vector<std::string>& live_keys() {
  static const std::vector<std::string> keys = {
      "epochs", "learning_rate", "loss_type", "batch_size_train", "batch_size_val",
      "contrastive_loss.n_outliers", "contrastive_loss.n_outliers_val", "contrastive_loss.weight",
      "contrastive_loss.margin", "contrastive_loss.temperature", "progress_seconds",
      "checkpoint_every", "picture_every"};
  return keys;
}

void check_fits_ranks(const Config& c, int world_size) {
  for (const auto& [key, value] : {std::pair{"batch_size_train", c.batch_size_train},
                                   std::pair{"batch_size_val", c.batch_size_val}})
    if (value < world_size)
      throw ConfigError("config: '" + std::string(key) + "' = " + std::to_string(value) + " is smaller than the " +
                        "number of ranks (" + std::to_string(world_size) + "): every rank needs at least one " +
                        "normal sample; use fewer ranks or a larger batch");
}

LiveEdit merge_live_edits(const Config& running, const Config& edited, int world_size) {
  auto pointer = [](const std::string& key) {
    std::string p = "/" + key;
    for (auto& ch : p)
      if (ch == '.') ch = '/';
    return json::json_pointer(p);
  };
  LiveEdit edit;
  json merged = running.json;
  for (const auto& key : live_keys()) {
    const auto ptr = pointer(key);
    if (edited.json.at(ptr) != merged.at(ptr)) {
      edit.changed.push_back(key + " = " + edited.json.at(ptr).dump());
      merged[ptr] = edited.json.at(ptr);
    }
  }
  const auto diff = json::diff(merged, edited.json);
  edit.waiting = diff.empty() ? "" : diff.dump();
  edit.merged = edit.changed.empty() ? running : parse_config(merged);
  check_fits_ranks(edit.merged, world_size);
  return edit;
}

}  // namespace cdae::train
