// Config parsing: the reference's keys unchanged, defaults, overrides, and
// refusals that name the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "train/config.h"

using cdae::train::ConfigError;
using cdae::train::parse_config;
using nlohmann::json;

namespace {

// The reference program's config, verbatim.
json reference_config() {
  return json::parse(R"({ "n_channels": 1, "path_save_model": "model_sav", "path_scratch": "scratch",
    "batch_size_train": 100, "batch_size_val": 8, "seqlen": 21, "height": 101,
    "width": 101, "learning_rate": 0.0005, "epochs": 20000, "loss_type": "mse",
    "dtheta": 2.0,
    "contrastive_loss": { "n_outliers": 8, "n_outliers_val": 2, "dtheta": 2.1 },
    "inference": { "results": "res_native", "weights": "model_sav/best.pth",
                   "loss_type": "mse", "n_samples": 1000, "random_seq": "False" } })");
}

std::string error_of(const json& j) {
  try {
    parse_config(j);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, TheReferenceConfigRunsUnchanged) {
  const auto c = parse_config(reference_config());
  EXPECT_EQ(c.batch_size_train, 100);
  EXPECT_EQ(c.contrastive.n_outliers, 8);
  EXPECT_EQ(c.contrastive.n_outliers_val, 2);
  EXPECT_DOUBLE_EQ(c.contrastive.dtheta, 2.1);
  EXPECT_FALSE(c.inference.random_seq);
  EXPECT_EQ(c.inference.weights, "model_sav/best.pth");
  EXPECT_EQ(c.model.preset, "seed");
  EXPECT_DOUBLE_EQ(c.model.dropout, 0.5);
  auto j = reference_config();
  j["inference"]["random_seq"] = "True";
  EXPECT_TRUE(parse_config(j).inference.random_seq);
  j["inference"]["random_seq"] = true;
  EXPECT_TRUE(parse_config(j).inference.random_seq);
}

TEST(Config, DefaultsFillMissingKeysAndAreRecorded) {
  const auto c = parse_config(json::object());
  EXPECT_EQ(c.epochs, 20000);
  EXPECT_EQ(c.contrastive.n_outliers, 0);
  EXPECT_FALSE(c.contrastive_phase());
  EXPECT_EQ(c.json["dist"]["backend"], "auto");
  EXPECT_EQ(c.json["learning_rate"], 0.0005);
}

TEST(Config, UnknownKeysAreRefusedByName) {
  auto j = reference_config();
  j["learning_rat"] = 0.1;
  EXPECT_NE(error_of(j).find("unknown key 'learning_rat'"), std::string::npos) << error_of(j);
  j = reference_config();
  j["contrastive_loss"]["n_outlier"] = 3;
  EXPECT_NE(error_of(j).find("'contrastive_loss.n_outlier'"), std::string::npos) << error_of(j);
  EXPECT_NE(error_of(j).find("n_outliers_val"), std::string::npos) << "lists the accepted keys";
}

TEST(Config, WrongTypesAndRangesNameTheKey) {
  struct Case { const char* key; json value; const char* expect; };
  const std::vector<Case> cases = {
      {"/batch_size_train", "100", "'batch_size_train' must be an integer"},
      {"/batch_size_train", 2.5, "'batch_size_train' must be an integer"},
      {"/batch_size_train", 0, "'batch_size_train'"},
      {"/learning_rate", "fast", "'learning_rate' must be a number"},
      {"/learning_rate", -1.0, "'learning_rate'"},
      {"/loss_type", "l1", "'loss_type' = \"l1\""},
      {"/device", "tpu", "'device'"},
      {"/precision", "fp8", "'precision'"},
      {"/model/preset", "huge", "'model.preset'"},
      {"/model/dropout", 1.5, "'model.dropout'"},
      {"/inference/random_seq", "maybe", "'inference.random_seq'"},
      {"/contrastive_loss", 3, "'contrastive_loss' must be a JSON object"},
      {"/dist/backend", "gloo", "'dist.backend'"},
      {"/epochs", -3, "'epochs'"},
  };
  for (const auto& c : cases) {
    auto j = reference_config();
    j[json::json_pointer(c.key)] = c.value;
    const auto e = error_of(j);
    EXPECT_NE(e.find(c.expect), std::string::npos) << c.key << ": " << e;
  }
  auto j = reference_config();
  j["batch_size_train"] = 100.0;  // an integral float is fine
  EXPECT_EQ(parse_config(j).batch_size_train, 100);
}

TEST(Config, ImpossibleFrameSizesAreRefusedWithTheAcceptedSizes) {
  auto j = reference_config();
  j["height"] = 100;
  j["width"] = 100;
  const auto e = error_of(j);
  EXPECT_NE(e.find("height=100"), std::string::npos) << e;
  EXPECT_NE(e.find("101"), std::string::npos) << "lists 101 among the accepted sizes: " << e;
  j = reference_config();
  j["seqlen"] = 20;
  EXPECT_NE(error_of(j).find("seqlen=20"), std::string::npos);
  j = reference_config();
  j["model"] = {{"preset", "small"}};
  j["height"] = 37;
  j["width"] = 37;
  EXPECT_EQ(error_of(j), "");
}

TEST(Config, OverridesSetNestedKeysWithJsonOrStringValues) {
  auto j = reference_config();
  cdae::train::apply_overrides(j, {"contrastive_loss.n_outliers=3", "path_scratch=/tmp/x", "model.dropout=0",
                                   "inference.random_seq=True"});
  const auto c = parse_config(j);
  EXPECT_EQ(c.contrastive.n_outliers, 3);
  EXPECT_EQ(c.path_scratch, "/tmp/x");
  EXPECT_DOUBLE_EQ(c.model.dropout, 0.0);
  EXPECT_TRUE(c.inference.random_seq);
  EXPECT_THROW(cdae::train::apply_overrides(j, {"no_equals_sign"}), ConfigError);
  cdae::train::apply_overrides(j, {"bogus.key=1"});
  EXPECT_NE(error_of(j).find("unknown key 'bogus'"), std::string::npos);
}

TEST(Config, ListOverridesCutAtCommasAreJoinedAgain) {
  using cdae::train::rejoin_json_lists;
  using V = std::vector<std::string>;
  // What cxxopts hands over for --set model.channels=[32,64] --set epochs=3.
  EXPECT_EQ(rejoin_json_lists({"model.channels=[32", "64]", "epochs=3"}), (V{"model.channels=[32,64]", "epochs=3"}));
  EXPECT_EQ(rejoin_json_lists({"model.hidden=[256", "64", "16]"}), (V{"model.hidden=[256,64,16]"}));
  EXPECT_EQ(rejoin_json_lists({"a={\"x\": [1", "2]", "\"y\": 3}", "b=1"}), (V{"a={\"x\": [1,2],\"y\": 3}", "b=1"}));
  // Pieces outside brackets stay apart, so a stray word is still reported on its own.
  EXPECT_EQ(rejoin_json_lists({"epochs=3", "typo"}), (V{"epochs=3", "typo"}));
  EXPECT_EQ(rejoin_json_lists({"a=]", "b=1"}), (V{"a=]", "b=1"}));
  // Only a value that starts as JSON is joined; brackets inside strings do not count.
  EXPECT_EQ(rejoin_json_lists({"name=x[1", "epochs=3"}), (V{"name=x[1", "epochs=3"}));
  EXPECT_EQ(rejoin_json_lists({"a=[\"]\"", "\"[\"]", "b=1"}), (V{"a=[\"]\",\"[\"]", "b=1"}));
  auto j = reference_config();
  cdae::train::apply_overrides(j, rejoin_json_lists({"model.preset=small", "model.lstm_norm=layer"}));
  EXPECT_EQ(j["model"]["preset"], "small");
}

TEST(Config, LoadConfigNamesTheFileForBadJson) {
  const auto path = (std::filesystem::temp_directory_path() / "cdae_bad_config.json").string();
  std::ofstream(path) << "{ \"epochs\": 10, }";
  try {
    cdae::train::load_config(path, {});
    FAIL() << "malformed JSON accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cdae::train::load_config("/nonexistent/cdae.json", {}), ConfigError);
  std::filesystem::remove(path);
}

TEST(ConfigFuzz, MutatedConfigsParseOrFailWithConfigError) {
  // Seeded random mutations of the reference config text: the only allowed
  // outcomes are a parsed config or a ConfigError (no crash, no other exception).
  const std::string base = reference_config().dump(1);
  std::mt19937 rng(1234);
  const std::string alphabet = "{}[]\",:0123456789.-eE truefalsnul\\abc";
  int parsed = 0, refused = 0;
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text = base;
    const int edits = 1 + rng() % 4;
    for (int k = 0; k < edits && !text.empty(); ++k) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + rng() % 3); break;
        default: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    const auto j = json::parse(text, nullptr, false);
    if (j.is_discarded()) continue;
    try {
      parse_config(j);
      ++parsed;
    } catch (const ConfigError&) {
      ++refused;
    }
  }
  EXPECT_GT(parsed + refused, 100);
  EXPECT_GT(refused, 0);
}

TEST(Config, ModelOptionsFollowThePresetUnlessSet) {
  auto j = reference_config();
  auto a = parse_config(j).architecture();
  EXPECT_EQ(a.lstm_norm, "none");  // the seed preset stays the reference architecture
  EXPECT_EQ(a.output, "relu");
  EXPECT_FALSE(a.channels_last);  // the layout measured faster for each preset
  j["model"] = {{"preset", "cpu"}};
  j["height"] = 49;
  j["width"] = 49;
  a = parse_config(j).architecture();
  EXPECT_EQ(a.lstm_norm, "layer");
  EXPECT_EQ(a.output, "sigmoid");
  EXPECT_TRUE(a.channels_last);
  j["model"]["memory_format"] = "contiguous";
  EXPECT_FALSE(parse_config(j).architecture().channels_last);
  j["model"]["memory_format"] = "nhwc";
  EXPECT_NE(error_of(j).find("'model.memory_format'"), std::string::npos) << error_of(j);
  j["model"]["memory_format"] = "auto";
  j["model"]["output"] = "relu";
  j["model"]["lstm_norm"] = "none";
  a = parse_config(j).architecture();
  EXPECT_EQ(a.lstm_norm, "none");
  EXPECT_EQ(a.output, "relu");
  j["model"]["output"] = "tanh";
  EXPECT_NE(error_of(j).find("'model.output'"), std::string::npos) << error_of(j);
  j["model"]["output"] = "auto";
  j["model"]["lstm_norm"] = "batch";
  EXPECT_NE(error_of(j).find("'model.lstm_norm'"), std::string::npos) << error_of(j);
}

TEST(Config, ContrastiveKindsAndTheirSettingsAreChecked) {
  auto j = reference_config();
  EXPECT_EQ(parse_config(j).contrastive.kind, "seed");
  for (const auto& [key, bad] : std::vector<std::pair<std::string, json>>{
           {"kind", "triplet"}, {"margin", 0.0}, {"margin_to", "nearest"}, {"temperature", -1.0}, {"weight", -2.0}}) {
    auto k = j;
    k["contrastive_loss"][key] = bad;
    EXPECT_NE(error_of(k).find("'contrastive_loss." + key + "'"), std::string::npos) << key << ": " << error_of(k);
  }
  j["contrastive_loss"]["kind"] = "margin";
  j["contrastive_loss"]["margin"] = 0.8;
  j["contrastive_loss"]["margin_to"] = "every";
  const auto c = parse_config(j);
  EXPECT_EQ(c.contrastive.kind, "margin");
  EXPECT_DOUBLE_EQ(c.contrastive.margin, 0.8);
  EXPECT_EQ(c.contrastive.margin_to, "every");
}

TEST(Config, ThePhaseNamesTheContrastiveSettings) {
  auto j = reference_config();
  const auto contrastive = parse_config(j).phase();
  j["contrastive_loss"]["n_outliers"] = 0;
  EXPECT_EQ(parse_config(j).phase(), "conventional");
  j["contrastive_loss"]["n_outliers"] = 4;  // a live key: the same phase
  EXPECT_EQ(parse_config(j).phase(), contrastive);
  j["contrastive_loss"]["kind"] = "infonce";
  EXPECT_NE(parse_config(j).phase(), contrastive);
  j["contrastive_loss"]["kind"] = "seed";
  j["contrastive_loss"]["dtheta"] = 3.0;
  EXPECT_NE(parse_config(j).phase(), contrastive);
}

TEST(Config, FamilyDataAndRegulariserKeysAreCheckedByName) {
  auto dense = reference_config();
  dense["model"] = {{"family", "dense"}, {"hidden", {64, 32}}, {"latent", 8}, {"variational", true}};
  dense["data"] = {{"source", "hdf5"}, {"path", "x.h5"}};
  dense["loss_type"] = "bce";
  const auto c = parse_config(dense);
  EXPECT_EQ(c.model.family, "dense");
  EXPECT_EQ(c.model.hidden, (std::vector<int>{64, 32}));
  EXPECT_TRUE(c.model.variational);
  EXPECT_EQ(c.family_output(), "sigmoid");  // auto, for dense and conv
  struct Case { const char* key; json value; const char* expect; };
  const std::vector<Case> cases = {
      {"/model/family", "gan", "'model.family'"},
      {"/model/hidden", json::array(), "'model.hidden' must be a non-empty list"},
      {"/model/hidden", {64, -1}, "'model.hidden' must be a non-empty list of positive integers"},
      {"/model/hidden", "64", "'model.hidden'"},
      {"/model/variational", "yes", "'model.variational' must be true or false"},
      {"/model/output", "linear", "'loss_type' = bce"},  // bce needs a sigmoid output
      {"/data/source", "s3", "'data.source'"},
      {"/data/path", "", "'data.path'"},
      {"/denoising/noise", "salt", "'denoising.noise'"},
      {"/sparsity/kind", "l2", "'sparsity.kind'"},
      {"/sparsity/target", 1.5, "'sparsity.target'"},
      {"/focal/alpha", 0.0, "'focal.alpha'"},
  };
  for (const auto& k : cases) {
    auto j = dense;
    j[json::json_pointer(k.key)] = k.value;
    const auto e = error_of(j);
    EXPECT_NE(e.find(k.expect), std::string::npos) << k.key << ": " << e;
  }
  // The generated rotation data is for the spatio-temporal family only; the VAE is dense or conv.
  auto rotation = reference_config();
  rotation["model"] = {{"family", "conv"}};
  EXPECT_NE(error_of(rotation).find("'model.family'"), std::string::npos) << error_of(rotation);
  rotation["model"] = {{"variational", true}};
  EXPECT_NE(error_of(rotation).find("'model.variational'"), std::string::npos) << error_of(rotation);
}

TEST(Config, LiveEditsMergeOnlyLiveKeysAndRecheckTheRankRule) {
  const auto running = parse_config(reference_config());
  auto edited_json = reference_config();
  edited_json["learning_rate"] = 0.001;
  edited_json["dtheta"] = 1.0;  // needs a restart
  auto edit = cdae::train::merge_live_edits(running, parse_config(edited_json), 4);
  EXPECT_DOUBLE_EQ(edit.merged.learning_rate, 0.001);
  EXPECT_DOUBLE_EQ(edit.merged.dtheta, 2.0);
  ASSERT_EQ(edit.changed.size(), 1u);
  EXPECT_EQ(edit.changed[0], "learning_rate = 0.001");
  EXPECT_NE(edit.waiting.find("/dtheta"), std::string::npos) << edit.waiting;
  // Nothing edited: nothing changed, nothing waiting.
  edit = cdae::train::merge_live_edits(running, running, 4);
  EXPECT_TRUE(edit.changed.empty());
  EXPECT_TRUE(edit.waiting.empty());
  // A live batch size below the number of ranks is refused, naming the key.
  edited_json = reference_config();
  edited_json["batch_size_val"] = 3;
  try {
    cdae::train::merge_live_edits(running, parse_config(edited_json), 4);
    ADD_FAILURE() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'batch_size_val' = 3 is smaller than the number of ranks (4)"),
              std::string::npos)
        << e.what();
  }
}
