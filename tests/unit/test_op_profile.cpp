#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>

#include "app/op_profile.h"

namespace cdae::app {
namespace {

TEST(OperatorProfile, SelfTimeSubtractsDirectChildrenOnly) {
  // [0, 100) encloses [10, 40) (which encloses [20, 30)) and [50, 60); [100, 120) is a sibling.
  const std::vector<TimedEvent> events{{0, 100}, {10, 40}, {20, 30}, {50, 60}, {100, 120}};
  const auto self = self_times_ns(events);
  ASSERT_EQ(self.size(), 5u);
  EXPECT_DOUBLE_EQ(self[0], 100 - 30 - 10);
  EXPECT_DOUBLE_EQ(self[1], 30 - 10);
  EXPECT_DOUBLE_EQ(self[2], 10);
  EXPECT_DOUBLE_EQ(self[3], 10);
  EXPECT_DOUBLE_EQ(self[4], 20);
  // Self times add up to the wall time the outermost events cover.
  double sum = 0;
  for (double s : self) sum += s;
  EXPECT_DOUBLE_EQ(sum, 120);
}

TEST(OperatorProfile, FindsTheOperatorThatTakesTheTime) {
  const auto a = torch::randn({384, 384}), b = torch::randn({384, 384});
  const auto small = torch::randn({8});
  OperatorProfile profile;
  profile.start();
  torch::Tensor sink;
  for (int i = 0; i < 4; ++i) sink = torch::mm(a, b) + small.sum();
  profile.stop();
  ASSERT_FALSE(profile.rows().empty());
  const auto& top = profile.rows().front();
  EXPECT_EQ(top.name, "aten::mm") << "largest self time: " << top.name << " " << top.shapes;
  EXPECT_EQ(top.shapes, "[384, 384], [384, 384]");
  EXPECT_EQ(top.calls, 4);
  EXPECT_GT(top.self_ms, 0);
  EXPECT_LE(top.self_ms, top.total_ms + 1e-9);
  double self_sum = 0;
  for (const auto& r : profile.rows()) self_sum += r.self_ms;
  EXPECT_NEAR(self_sum, profile.recorded_ms(), 1e-6 * self_sum);
  // Rows come largest first.
  EXPECT_TRUE(std::is_sorted(profile.rows().begin(), profile.rows().end(),
                             [](const auto& x, const auto& y) { return x.self_ms > y.self_ms; }));
}

}  // namespace
}  // namespace cdae::app
