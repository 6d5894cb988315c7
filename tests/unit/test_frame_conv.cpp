// The faster forms of the layers compute the same functions, with the same
// parameters and initialisation, as the plain Conv3d / ConvTranspose3d layers:
// im2col + GEMM for the one-frame layers, convolution kernels for the other
// transposed convolutions.
#include <gtest/gtest.h>

#include "model/autoencoder.h"
#include "model/conv_transpose.h"
#include "model/frame_conv.h"
#include "model/input_batch_norm.h"
#include "model/sequence_gemm_conv.h"

using namespace cdae::model;

namespace {

// Same output, input gradient and parameter gradients, in float64.
// (float64: to 1e-10; float32, where other kernels run: to 1e-5 relative).
// With relu, the fast layer is checked against the plain one followed by a ReLU.
template <typename Fast, typename Plain>
void expect_same_layer(Fast& fast, Plain& plain, const torch::Tensor& input, bool relu = false) {
  ASSERT_TRUE(torch::equal(fast->weight, plain->weight));  // same default initialisation
  ASSERT_TRUE(torch::equal(fast->bias, plain->bias));
  fast->to(input.scalar_type());
  plain->to(input.scalar_type());
  const double tol = input.scalar_type() == torch::kFloat64 ? 1e-10 : 1e-5;
  auto same = [tol](const torch::Tensor& a, const torch::Tensor& b) {
    return torch::allclose(a, b, tol, tol * b.abs().max().item<double>());
  };
  auto x1 = input.clone().requires_grad_(true), x2 = input.clone().requires_grad_(true);
  const auto y1 = fast->forward(x1), y2 = relu ? torch::relu(plain->forward(x2)) : plain->forward(x2);
  ASSERT_EQ(y1.sizes(), y2.sizes());
  EXPECT_TRUE(same(y1, y2));
  const auto upstream = torch::randn_like(y2);
  (y1 * upstream).sum().backward();
  (y2 * upstream).sum().backward();
  EXPECT_TRUE(same(x1.grad(), x2.grad()));
  EXPECT_TRUE(same(fast->weight.grad(), plain->weight.grad()));
  EXPECT_TRUE(same(fast->bias.grad(), plain->bias.grad()));
}

}  // namespace

TEST(FrameConv, ConvMatchesConv3dForwardAndBackward) {
  torch::manual_seed(1);
  FrameConv3d fast(2, ConvSpec{6, {1, 5, 5}, {1, 2, 2}});
  torch::manual_seed(1);
  torch::nn::Conv3d plain(torch::nn::Conv3dOptions(2, 6, {1, 5, 5}).stride({1, 2, 2}));
  expect_same_layer(fast, plain, torch::randn({3, 2, 4, 17, 15}, torch::kFloat64));
}

TEST(FrameConv, TransposedConvMatchesConvTranspose3dForwardAndBackward) {
  torch::manual_seed(2);
  FrameConvTranspose3d fast(6, ConvSpec{2, {1, 5, 5}, {1, 2, 2}});
  torch::manual_seed(2);
  torch::nn::ConvTranspose3d plain(torch::nn::ConvTranspose3dOptions(6, 2, {1, 5, 5}).stride({1, 2, 2}));
  expect_same_layer(fast, plain, torch::randn({2, 6, 3, 7, 8}, torch::kFloat64));
}

TEST(FrameConv, Conv2dOverFramesMatchesConv3dForwardAndBackward) {
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(6);
    FrameConv2d fast(1, ConvSpec{16, {1, 5, 5}, {1, 2, 2}});
    torch::manual_seed(6);
    torch::nn::Conv3d plain(torch::nn::Conv3dOptions(1, 16, {1, 5, 5}).stride({1, 2, 2}));
    expect_same_layer(fast, plain, torch::randn({3, 1, 4, 17, 15}, dtype));
  }
}

TEST(FrameConv, Conv2dOverFramesMatchesConv3dAtTheSeedKernel) {
  // The seed preset's one-frame layer shape (1 -> 128, 13x13, stride 2), smaller frames.
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(7);
    FrameConv2d fast(1, ConvSpec{128, {1, 13, 13}, {1, 2, 2}});
    torch::manual_seed(7);
    torch::nn::Conv3d plain(torch::nn::Conv3dOptions(1, 128, {1, 13, 13}).stride({1, 2, 2}));
    expect_same_layer(fast, plain, torch::randn({2, 1, 3, 29, 31}, dtype));
  }
}

TEST(FrameConv, TransposedConvMatchesConvTranspose3dAtTheSeedKernel) {
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(8);
    FrameConvTranspose3d fast(128, ConvSpec{1, {1, 13, 13}, {1, 2, 2}});
    torch::manual_seed(8);
    torch::nn::ConvTranspose3d plain(torch::nn::ConvTranspose3dOptions(128, 1, {1, 13, 13}).stride({1, 2, 2}));
    expect_same_layer(fast, plain, torch::randn({2, 128, 3, 9, 10}, dtype));
  }
}

TEST(FrameConv, SeedKernelOnFullFramesSpansSeveralChunks) {
  // Patches go through the GEMMs ~16 MB of frames at a time. At the seed's 101x101
  // frames in float64 a frame's patches are 169 x 45 x 45 x 8 bytes = 2.7 MB: six
  // frames per chunk, so the ten frames here make a full chunk and a partial one.
  torch::manual_seed(9);
  FrameConv2d conv(1, ConvSpec{128, {1, 13, 13}, {1, 2, 2}});
  torch::manual_seed(9);
  torch::nn::Conv3d plain_conv(torch::nn::Conv3dOptions(1, 128, {1, 13, 13}).stride({1, 2, 2}));
  expect_same_layer(conv, plain_conv, torch::randn({2, 1, 5, 101, 101}, torch::kFloat64));
  torch::manual_seed(10);
  FrameConvTranspose3d deconv(128, ConvSpec{1, {1, 13, 13}, {1, 2, 2}});
  torch::manual_seed(10);
  torch::nn::ConvTranspose3d plain_deconv(torch::nn::ConvTranspose3dOptions(128, 1, {1, 13, 13}).stride({1, 2, 2}));
  expect_same_layer(deconv, plain_deconv, torch::randn({2, 128, 5, 45, 45}, torch::kFloat64));
}

TEST(SequenceGemmConv, MatchesConv3dForwardAndBackward) {
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(11);
    SequenceGemmConv fast(2, ConvSpec{6, {1, 5, 5}, {1, 2, 2}});
    torch::manual_seed(11);
    torch::nn::Conv3d plain(torch::nn::Conv3dOptions(2, 6, {1, 5, 5}).stride({1, 2, 2}));
    expect_same_layer(fast, plain, torch::randn({3, 2, 4, 17, 15}, dtype));
  }
}

TEST(SequenceGemmConv, WithTheReluInsideMatchesConv3dThenRelu) {
  // One image channel, so that `direct` takes the frame kernels; both output layouts.
  for (const auto dtype : {torch::kFloat64, torch::kFloat32})
    for (const bool direct : {false, true})
      for (const bool channels_last : {false, true}) {
        SCOPED_TRACE(std::string(direct ? "direct" : "gemm") + (channels_last ? " cl" : " ncdhw"));
        torch::manual_seed(16);
        SequenceGemmConv fast(1, ConvSpec{16, {1, 5, 5}, {1, 2, 2}}, channels_last, direct, /*relu=*/true);
        torch::manual_seed(16);
        torch::nn::Conv3d plain(torch::nn::Conv3dOptions(1, 16, {1, 5, 5}).stride({1, 2, 2}));
        expect_same_layer(fast, plain, torch::randn({3, 1, 4, 17, 15}, dtype), /*relu=*/true);
      }
}

TEST(SequenceGemmConv, WithTheInputAffineInsideMatchesConv3dOfTheAffine) {
  // input_scale/input_shift: the layer computes conv3d(scale * x + shift) and
  // gives the gradients of scale and shift from its weight gradient, not from
  // an input gradient; random values, so that neither term vanishes.
  for (const bool direct : {false, true})
    for (const bool channels_last : {false, true})
      for (const int in : {1, 2}) {
        if (direct && in != 1) continue;  // the frame kernels take one image channel
        SCOPED_TRACE(std::string(direct ? "direct" : "gemm") + (channels_last ? " cl " : " ncdhw ") +
                     std::to_string(in));
        torch::manual_seed(17);
        SequenceGemmConv fast(in, ConvSpec{8, {1, 5, 5}, {1, 2, 2}}, channels_last, direct, /*relu=*/true);
        torch::manual_seed(17);
        torch::nn::Conv3d plain(torch::nn::Conv3dOptions(in, 8, {1, 5, 5}).stride({1, 2, 2}));
        fast->to(torch::kFloat64);
        plain->to(torch::kFloat64);
        const auto scale0 = torch::rand({in}, torch::kFloat64) + 0.5, shift0 = torch::randn({in}, torch::kFloat64);
        auto scale1 = scale0.clone().requires_grad_(true), shift1 = shift0.clone().requires_grad_(true);
        auto scale2 = scale0.clone().requires_grad_(true), shift2 = shift0.clone().requires_grad_(true);
        fast->input_scale = scale1;
        fast->input_shift = shift1;
        const auto x = torch::randn({3, in, 4, 17, 15}, torch::kFloat64);
        const auto y1 = fast->forward(x);
        const auto y2 = torch::relu(plain->forward(x * scale2.view({1, -1, 1, 1, 1}) + shift2.view({1, -1, 1, 1, 1})));
        EXPECT_TRUE(torch::allclose(y1, y2, 1e-10, 1e-10));
        const auto upstream = torch::randn_like(y2);
        (y1 * upstream).sum().backward();
        (y2 * upstream).sum().backward();
        EXPECT_TRUE(torch::allclose(fast->weight.grad(), plain->weight.grad(), 1e-9, 1e-9));
        EXPECT_TRUE(torch::allclose(fast->bias.grad(), plain->bias.grad(), 1e-9, 1e-9));
        EXPECT_TRUE(torch::allclose(scale1.grad(), scale2.grad(), 1e-9, 1e-9)) << scale1.grad() << scale2.grad();
        EXPECT_TRUE(torch::allclose(shift1.grad(), shift2.grad(), 1e-9, 1e-9)) << shift1.grad() << shift2.grad();
        // and the input gradient, where one is asked for
        auto x1 = x.clone().requires_grad_(true), x2 = x.clone().requires_grad_(true);
        (fast->forward(x1) * upstream).sum().backward();
        (torch::relu(plain->forward(x2 * scale0.view({1, -1, 1, 1, 1}) + shift0.view({1, -1, 1, 1, 1}))) * upstream)
            .sum()
            .backward();
        EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-10, 1e-10));
      }
}

TEST(InputBatchNorm, WithTheAffineInTheNextLayerGivesTheNormalisedInput) {
  // Training (batch statistics, running statistics updated alike) and eval.
  for (const bool training : {true, false}) {
    InputBatchNorm full(2), bare(2);
    bare->affine_in_next_layer = true;
    for (auto* bn : {&full, &bare}) {
      (*bn)->to(torch::kFloat64);
      torch::NoGradGuard no_grad;
      (*bn)->weight.copy_(torch::tensor({1.5, -0.7}, torch::kFloat64));
      (*bn)->bias.copy_(torch::tensor({0.3, 2.0}, torch::kFloat64));
      (*bn)->running_mean.copy_(torch::tensor({0.1, -0.2}, torch::kFloat64));
      (*bn)->running_var.copy_(torch::tensor({2.0, 0.5}, torch::kFloat64));
      (*bn)->train(training);
    }
    const auto x = torch::randn({3, 2, 4, 5, 5}, torch::kFloat64) * 3 + 1;
    const auto y = full->forward(x), xhat = bare->forward(x);
    const auto affine = xhat * full->weight.view({1, -1, 1, 1, 1}) + full->bias.view({1, -1, 1, 1, 1});
    EXPECT_TRUE(torch::allclose(affine, y, 1e-12, 1e-12)) << (training ? "training" : "eval");
    EXPECT_TRUE(torch::equal(full->running_mean, bare->running_mean));
    EXPECT_TRUE(torch::equal(full->running_var, bare->running_var));
  }
}

TEST(SequenceGemmConv, TransposedMatchesConvTranspose3dForwardAndBackward) {
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(12);
    SequenceGemmConvTranspose fast(6, ConvSpec{2, {1, 5, 5}, {1, 2, 2}});
    torch::manual_seed(12);
    torch::nn::ConvTranspose3d plain(torch::nn::ConvTranspose3dOptions(6, 2, {1, 5, 5}).stride({1, 2, 2}));
    expect_same_layer(fast, plain, torch::randn({2, 6, 3, 7, 8}, dtype));
  }
}

TEST(SequenceGemmConv, SeedKernelOnFullFrames) {
  // The seed's one-frame layers (1 -> 128 and 128 -> 1, 13x13, stride 2) on 101x101 frames.
  torch::manual_seed(13);
  SequenceGemmConv conv(1, ConvSpec{128, {1, 13, 13}, {1, 2, 2}});
  torch::manual_seed(13);
  torch::nn::Conv3d plain_conv(torch::nn::Conv3dOptions(1, 128, {1, 13, 13}).stride({1, 2, 2}));
  expect_same_layer(conv, plain_conv, torch::randn({2, 1, 3, 101, 101}, torch::kFloat64));
  torch::manual_seed(14);
  SequenceGemmConvTranspose deconv(128, ConvSpec{1, {1, 13, 13}, {1, 2, 2}});
  torch::manual_seed(14);
  torch::nn::ConvTranspose3d plain_deconv(torch::nn::ConvTranspose3dOptions(128, 1, {1, 13, 13}).stride({1, 2, 2}));
  expect_same_layer(deconv, plain_deconv, torch::randn({2, 128, 3, 45, 45}, torch::kFloat64));
}

TEST(SequenceGemmConv, TakesAnyLayoutAndReturnsNcdhw) {
  // The output is contiguous NCDHW (what the next layer reads without a copy),
  // whatever the input's layout; the input gradient has the input's shape.
  torch::manual_seed(15);
  SequenceGemmConv conv(2, ConvSpec{4, {1, 3, 3}, {1, 1, 1}});
  const auto x = torch::randn({2, 5, 2, 9, 9}).permute({0, 2, 1, 3, 4}).requires_grad_(true);
  ASSERT_FALSE(x.is_contiguous());
  const auto y = conv->forward(x);
  EXPECT_TRUE(y.is_contiguous());
  const auto y_ref = conv->forward(x.detach().contiguous());
  EXPECT_TRUE(torch::allclose(y, y_ref));
  y.sum().backward();
  EXPECT_EQ(x.grad().sizes(), x.sizes());
}

namespace {
constexpr auto kChannelsLast = torch::MemoryFormat::ChannelsLast3d;
bool is_channels_last(const torch::Tensor& t) { return t.is_contiguous(kChannelsLast) && !t.is_contiguous(); }
}  // namespace

TEST(SequenceGemmConv, ChannelsLastOutputIsTheSameFunctionAndGradients) {
  // Written NDHWC (the product transposed into the same memory), the values and
  // all gradients are the plain layer's; a gradient arriving NDHWC is read as it is.
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(16);
    SequenceGemmConv fast(1, ConvSpec{6, {1, 5, 5}, {1, 2, 2}}, /*channels_last=*/true);
    torch::manual_seed(16);
    torch::nn::Conv3d plain(torch::nn::Conv3dOptions(1, 6, {1, 5, 5}).stride({1, 2, 2}));
    expect_same_layer(fast, plain, torch::randn({3, 1, 4, 17, 15}, dtype));
    EXPECT_TRUE(is_channels_last(fast->forward(torch::randn({2, 1, 3, 17, 15}, dtype))));
  }
}

TEST(SequenceGemmConv, TransposedReadsChannelsLastAndGivesItsGradientInIt) {
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(17);
    SequenceGemmConvTranspose fast(6, ConvSpec{1, {1, 5, 5}, {1, 2, 2}});
    torch::manual_seed(17);
    torch::nn::ConvTranspose3d plain(torch::nn::ConvTranspose3dOptions(6, 1, {1, 5, 5}).stride({1, 2, 2}));
    const auto x = torch::randn({2, 6, 3, 7, 8}, dtype).contiguous(kChannelsLast);
    expect_same_layer(fast, plain, x);
    const auto xg = x.clone().requires_grad_(true);
    fast->forward(xg).sum().backward();
    EXPECT_TRUE(is_channels_last(xg.grad()));
  }
}

namespace {

// The plain layers (Conv3d, ConvTranspose3d everywhere) against a choice of
// faster forms: same state_dict, same reconstruction.
// The plain layers (Conv3d, ConvTranspose3d everywhere, NCDHW) against a choice
// of faster forms and layouts: same state_dict, same reconstruction and the same
// gradient for every parameter (float64, so that only the forms differ).
void expect_same_model(const std::string& preset, int size, const std::string& frame_convs, bool channels_last) {
  SCOPED_TRACE(preset + " " + frame_convs + (channels_last ? " channels_last" : " ncdhw"));
  auto arch = make_preset(preset, 1, 21, size, size, 0.0);
  arch.frame_convs = "conv3d";
  arch.native_deconvs = true;
  arch.channels_last = false;
  torch::manual_seed(3);
  SpatioTemporalAutoencoder plain(arch);
  arch.frame_convs = frame_convs;
  arch.native_deconvs = false;
  arch.channels_last = channels_last;
  torch::manual_seed(3);
  SpatioTemporalAutoencoder fast(arch);
  const auto a = state_dict(*plain), b = state_dict(*fast);
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].first, b[k].first);
    EXPECT_TRUE(torch::equal(a[k].second, b[k].second)) << a[k].first;
  }
  plain->to(torch::kFloat64);
  fast->to(torch::kFloat64);
  const auto x = torch::rand({2, 1, 21, size, size}, torch::kFloat64);
  const auto y_plain = plain->forward(x).reconstruction, y_fast = fast->forward(x).reconstruction;
  EXPECT_TRUE(torch::allclose(y_plain, y_fast, 1e-9, 1e-12));
  const auto upstream = torch::randn_like(y_plain);
  (y_plain * upstream).sum().backward();
  (y_fast * upstream).sum().backward();
  const auto pa = plain->named_parameters(), pb = fast->named_parameters();
  for (const auto& p : pa) {
    const auto& g_plain = p.value().grad();
    const auto& g_fast = pb[p.key()].grad();
    ASSERT_TRUE(g_plain.defined() && g_fast.defined()) << p.key();
    EXPECT_TRUE(g_fast.is_contiguous()) << p.key();
    EXPECT_TRUE(torch::allclose(g_plain, g_fast, 1e-9, 1e-9 * (1 + g_plain.abs().max().item<double>()))) << p.key();
  }
}

}  // namespace

TEST(FrameConv, TheWholeModelIsTheSameFunctionWithTheSameStateDict) {
  for (const char* frame_convs : {"im2col", "conv2d", "conv3d", "gemm", "direct"})
    for (const bool channels_last : {false, true}) {
      expect_same_model("small", 37, frame_convs, channels_last);
      expect_same_model("cpu", 49, frame_convs, channels_last);
    }
}

TEST(ConvTransposeByConvKernels, MatchesConvTranspose3dForwardAndBackward) {
  // The cpu preset's layers (and an odd one), in float64 and in float32.
  struct Case { int in; ConvSpec spec; std::vector<std::int64_t> input; };
  const std::vector<Case> cases{{32, {16, {5, 5, 5}, {4, 2, 2}}, {2, 32, 5, 10, 10}},
                                {32, {32, {5, 4, 4}, {2, 2, 2}}, {2, 32, 1, 4, 4}},
                                {3, {5, {2, 3, 4}, {1, 3, 2}}, {2, 3, 4, 5, 6}},
                                // 64 output channels: the forward runs channels-last and is copied back
                                {8, {64, {3, 3, 3}, {2, 2, 2}}, {2, 8, 3, 4, 4}}};
  for (const auto dtype : {torch::kFloat64, torch::kFloat32})
    for (const auto& c : cases) {
      SCOPED_TRACE(c.spec.out_channels);
      torch::manual_seed(4);
      ConvTranspose3dByConvKernels fast(c.in, c.spec);
      torch::manual_seed(4);
      torch::nn::ConvTranspose3d plain(
          torch::nn::ConvTranspose3dOptions(c.in, c.spec.out_channels,
                                            {c.spec.kernel[0], c.spec.kernel[1], c.spec.kernel[2]})
              .stride({c.spec.stride[0], c.spec.stride[1], c.spec.stride[2]}));
      expect_same_layer(fast, plain, torch::randn(c.input, dtype));
    }
}

TEST(ConvTransposeByConvKernels, ChannelsLastOutputIsTheSameFunctionAndGradients) {
  // The seed's 64 -> 128, 5x5x5, stride (4,2,2) layer, smaller: NDHWC output,
  // the plain layer's values and gradients, the weight gradient in the weight's layout.
  for (const auto dtype : {torch::kFloat64, torch::kFloat32}) {
    torch::manual_seed(5);
    ConvTranspose3dByConvKernels fast(8, ConvSpec{16, {5, 5, 5}, {4, 2, 2}}, /*channels_last=*/true);
    torch::manual_seed(5);
    torch::nn::ConvTranspose3d plain(torch::nn::ConvTranspose3dOptions(8, 16, {5, 5, 5}).stride({4, 2, 2}));
    expect_same_layer(fast, plain, torch::randn({2, 8, 2, 6, 5}, dtype));
    EXPECT_TRUE(fast->weight.grad().is_contiguous());
    EXPECT_TRUE(is_channels_last(fast->forward(torch::randn({2, 8, 2, 6, 5}, dtype))));
  }
}

TEST(ConvTransposeByConvKernels, WithTheReluInsideMatchesConvTranspose3dThenRelu) {
  // The ReLU's mask and the bias gradient come from the fused pass (model/bias_relu.h), in both layouts.
  struct Case { int in; ConvSpec spec; std::vector<std::int64_t> input; };
  const std::vector<Case> cases{{32, {16, {5, 5, 5}, {4, 2, 2}}, {2, 32, 5, 10, 10}},
                                {3, {5, {2, 3, 4}, {1, 3, 2}}, {2, 3, 4, 5, 6}},
                                {8, {64, {3, 3, 3}, {2, 2, 2}}, {2, 8, 3, 4, 4}}};
  for (const auto dtype : {torch::kFloat64, torch::kFloat32})
    for (const bool channels_last : {false, true})
      for (const auto& c : cases) {
        SCOPED_TRACE(std::to_string(c.spec.out_channels) + (channels_last ? " cl" : " ncdhw"));
        torch::manual_seed(6);
        ConvTranspose3dByConvKernels fast(c.in, c.spec, channels_last, /*relu=*/true);
        torch::manual_seed(6);
        torch::nn::ConvTranspose3d plain(
            torch::nn::ConvTranspose3dOptions(c.in, c.spec.out_channels,
                                              {c.spec.kernel[0], c.spec.kernel[1], c.spec.kernel[2]})
                .stride({c.spec.stride[0], c.spec.stride[1], c.spec.stride[2]}));
        expect_same_layer(fast, plain, torch::randn(c.input, dtype), /*relu=*/true);
      }
}

TEST(Conv3dByConvKernels, MatchesConv3dForwardAndBackwardInBothLayouts) {
  // From 64 input channels the input gradient runs channels-last; either way it
  // comes back in the input's layout.
  for (const int in : {6, 64})
  for (const auto type : {torch::kFloat64, torch::kFloat32})
    for (const bool channels_last : {false, true}) {
      SCOPED_TRACE(std::to_string(in) + (type == torch::kFloat64 ? " float64" : " float32") +
                   (channels_last ? " cl" : " ncdhw"));
      const ConvSpec spec{8, {5, 5, 5}, {3, 2, 2}};
      torch::manual_seed(11);
      Conv3dByConvKernels fast(in, spec);
      torch::manual_seed(11);
      torch::nn::Conv3d plain(torch::nn::Conv3dOptions(in, 8, {5, 5, 5}).stride({3, 2, 2}));
      auto input = torch::randn({2, in, 11, 13, 12}, type);
      if (channels_last) input = input.contiguous(torch::MemoryFormat::ChannelsLast3d);
      expect_same_layer(fast, plain, input);
      auto x = input.clone().requires_grad_(true);
      fast->forward(x).sum().backward();
      EXPECT_TRUE(x.grad().is_contiguous(channels_last ? torch::MemoryFormat::ChannelsLast3d
                                                       : torch::MemoryFormat::Contiguous));
    }
}
