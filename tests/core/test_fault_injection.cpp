// The fault-injection hooks: read once, malformed values refused naming the
// variable, and the hooks fire only where asked.
#include <gtest/gtest.h>

#include <cstdlib>

#include "train/fault_injection.h"

using namespace cdae::train;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(FaultInjection, ParsesEpochListsAndRankEpochPairs) {
  EXPECT_EQ(parse_epoch_list("V", "5,6,,9"), (std::vector<std::int64_t>{5, 6, 9}));
  EXPECT_EQ(parse_rank_epoch("V", "1:30"), (std::pair<int, std::int64_t>{1, 30}));
  EXPECT_NE(error_of([] { parse_epoch_list("CDAE_TEST_NAN_EPOCHS", "5,x"); }).find("CDAE_TEST_NAN_EPOCHS: 'x'"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_epoch_list("V", "5.5"); }).find("'5.5' is not a non-negative integer"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_epoch_list("V", ","); }).find("lists no epoch"), std::string::npos);
  EXPECT_NE(error_of([] { parse_rank_epoch("CDAE_TEST_THROW", "3"); }).find("CDAE_TEST_THROW='3': expected RANK:EPOCH"),
            std::string::npos);
}

TEST(FaultInjection, ReadsTheEnvironmentOnceAndFiresOnlyWhereAsked) {
  ::setenv("CDAE_TEST_NAN_EPOCHS", "4,6", 1);
  ::setenv("CDAE_TEST_THROW", "1:7", 1);
  ::unsetenv("CDAE_TEST_STOP_EPOCH");
  const auto f = FaultInjection::from_environment();
  ::unsetenv("CDAE_TEST_NAN_EPOCHS");
  ::unsetenv("CDAE_TEST_THROW");
  EXPECT_TRUE(f.active());
  EXPECT_EQ(f.describe(), "CDAE_TEST_NAN_EPOCHS=4,6 CDAE_TEST_THROW=1:7");
  EXPECT_TRUE(f.poison(4));
  EXPECT_FALSE(f.poison(5));  // and the environment is no longer read
  EXPECT_FALSE(f.stop(4));
  EXPECT_NO_THROW(f.maybe_throw(0, 7));
  EXPECT_NO_THROW(f.maybe_throw(1, 6));
  EXPECT_NE(error_of([&] { f.maybe_throw(1, 7); }).find("rank 1 fails at epoch 7"), std::string::npos);
  EXPECT_FALSE(FaultInjection::from_environment().active());
}
