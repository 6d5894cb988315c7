// The tiled channels-last -> NCDHW copy gives the same values as ATen's.
#include <gtest/gtest.h>

#include "model/layout_copy.h"

using namespace cdae::model;

TEST(LayoutCopy, ChannelsLastToNcdhwEqualsContiguous) {
  // Tiles of 64 pixels x 16 channels: sizes that leave partial tiles both ways.
  for (const auto type : {torch::kFloat, torch::kDouble, torch::kBFloat16})
    for (const std::vector<std::int64_t>& sizes : {std::vector<std::int64_t>{3, 21, 5, 7, 9},
                                                   std::vector<std::int64_t>{2, 128, 2, 9, 9},
                                                   std::vector<std::int64_t>{1, 1, 1, 1, 1}}) {
      const auto t = torch::randn(sizes).to(type).contiguous(torch::MemoryFormat::ChannelsLast3d);
      const auto out = ncdhw_from_channels_last(t);
      EXPECT_TRUE(out.is_contiguous());
      EXPECT_EQ(out.scalar_type(), type);
      EXPECT_TRUE(torch::equal(out, t.contiguous())) << t.sizes();
    }
}

TEST(LayoutCopy, OtherLayoutsAreCopiedByATen) {
  const auto plain = torch::randn({2, 3, 4, 5, 6});
  EXPECT_TRUE(ncdhw_from_channels_last(plain).is_same(plain));  // already NCDHW: contiguous() is itself
  const auto permuted = plain.permute({0, 2, 1, 3, 4});
  EXPECT_TRUE(torch::equal(ncdhw_from_channels_last(permuted), permuted.contiguous()));
  const auto ints = torch::arange(2 * 3 * 2 * 2 * 2).view({2, 3, 2, 2, 2}).contiguous(torch::MemoryFormat::ChannelsLast3d);
  EXPECT_TRUE(torch::equal(ncdhw_from_channels_last(ints), ints.contiguous()));
}
