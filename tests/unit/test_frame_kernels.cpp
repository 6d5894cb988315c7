// The one-image-channel frame kernels (model/frame_kernels.h) against ATen's
// 2-D convolutions over frames: every channel count path (8, 16, 32 with the
// vector-register blocks, 5 at run time), kernel sizes that take the fixed
// (5x5: 32 padded values) and the run-time spread path (3x3, 13x13), frame
// widths that leave partial blocks, both feature layouts, float and double.
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <optional>

#include "model/frame_kernels.h"
#include "model/sequence_gemm_conv.h"
#include "train/precision.h"

using namespace cdae::model;

namespace {

struct Case {
  std::int64_t c, kh, kw, sh, sw, h, w;
};

const std::vector<Case> kCases{
    {16, 5, 5, 2, 2, 49, 49},   // the cpu preset's conv1 and deconv3
    {8, 5, 5, 2, 2, 37, 37},    // the small preset's
    {32, 5, 5, 2, 2, 21, 27},   // 32 channels; 12 pixels a row, blocks of 2 and 4
    {5, 5, 5, 2, 2, 19, 23},    // a channel count read at run time
    {16, 3, 3, 1, 1, 11, 14},   // 9 window values: the run-time spread path
    {8, 13, 13, 2, 2, 41, 41},  // the seed's kernel size
    {16, 4, 3, 1, 3, 13, 17},   // uneven kernel and strides; 17 - 3 leaves rows no window reaches
};

torch::Tensor frames(const torch::Tensor& t) {  // (N, C, T, H, W) -> (N*T, C, H, W)
  return t.permute({0, 2, 1, 3, 4}).reshape({-1, t.size(1), t.size(3), t.size(4)});
}
torch::Tensor sequences(const torch::Tensor& f, std::int64_t n) {  // the inverse
  return f.reshape({n, -1, f.size(1), f.size(2), f.size(3)}).permute({0, 2, 1, 3, 4});
}

void expect_close(const torch::Tensor& got, const torch::Tensor& want, const std::string& what) {
  const double tol = got.scalar_type() == torch::kDouble ? 1e-11 : 2e-5;
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  EXPECT_TRUE(torch::allclose(got, want, tol, tol * (1 + want.abs().max().item<double>()))) << what;
}

void check_case(const Case& k, torch::ScalarType type, torch::MemoryFormat layout) {
  const std::string name = "C " + std::to_string(k.c) + " " + std::to_string(k.kh) + "x" + std::to_string(k.kw) +
                           " stride " + std::to_string(k.sh) + "x" + std::to_string(k.sw) + " frame " +
                           std::to_string(k.h) + "x" + std::to_string(k.w) +
                           (type == torch::kDouble ? " double" : " float") +
                           (layout == torch::MemoryFormat::ChannelsLast3d ? " channels_last" : " ncdhw");
  SCOPED_TRACE(name);
  const auto opts = torch::TensorOptions().dtype(type);
  const std::int64_t n = 3, t = 4;
  const FrameWindow win{k.kh, k.kw, k.sh, k.sw};
  const auto image = torch::randn({n, 1, t, k.h, k.w}, opts);
  const auto w = torch::randn({k.c, k.kh * k.kw}, opts);
  const auto bias = torch::randn({k.c}, opts);
  const auto w4 = w.view({k.c, 1, k.kh, k.kw});
  const std::vector<std::int64_t> stride{k.sh, k.sw};

  const auto want_f = sequences(torch::conv2d(frames(image), w4, bias, stride), n);
  const auto f = window_products(image, w, bias, win, layout);
  EXPECT_TRUE(f.is_contiguous(layout));
  expect_close(f, want_f, "window_products");
  expect_close(window_products(image, w, {}, win, layout), want_f - bias.view({1, -1, 1, 1, 1}), "no bias");

  // The adjoint: spread = conv_transpose2d, zero where no window reaches.
  const auto g = torch::randn(want_f.sizes(), opts).contiguous(layout);
  auto spread = torch::full({n, 1, t, k.h, k.w}, 0.5, opts);  // adds to what is there
  spread_features(g, w, win, spread);
  const auto reached = sequences(torch::conv_transpose2d(frames(g.contiguous()), w4, {}, stride), n);
  auto want_spread = torch::full_like(spread, 0.5);
  want_spread.narrow(3, 0, reached.size(3)).narrow(4, 0, reached.size(4)).add_(reached);
  expect_close(spread, want_spread, "spread_features");

  // The weight gradient of <conv(image, w), g>.
  const auto w_var = w4.clone().requires_grad_(true);
  (torch::conv2d(frames(image), w_var, {}, stride) * frames(g.contiguous())).sum().backward();
  expect_close(window_weight_gradient(image, g, win), w_var.grad().view({k.c, -1}), "window_weight_gradient");
}

}  // namespace

TEST(FrameKernels, MatchTheTwoDimensionalConvolutionsOverFrames) {
  for (const auto& k : kCases)
    for (const auto type : {torch::kDouble, torch::kFloat})
      for (const auto layout : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast3d})
        check_case(k, type, layout);
}

TEST(FrameKernels, SameResultOnTwoThreads) {
  // Sequences run in parallel; the weight gradient adds per-thread partial sums.
  const auto old = at::get_num_threads();
  at::set_num_threads(2);
  check_case(kCases[0], torch::kDouble, torch::MemoryFormat::ChannelsLast3d);
  check_case(kCases[3], torch::kFloat, torch::MemoryFormat::Contiguous);
  at::set_num_threads(old);
}

TEST(FrameKernels, MismatchedShapesAreRefusedByName) {
  const FrameWindow win{5, 5, 2, 2};
  const auto image = torch::randn({2, 1, 3, 13, 13});
  const auto w = torch::randn({8, 25});
  EXPECT_THROW(window_products(torch::randn({2, 2, 3, 13, 13}), w, {}, win, torch::MemoryFormat::Contiguous),
               std::invalid_argument);
  auto wrong_image = torch::zeros({2, 1, 3, 15, 13});  // 6 rows of windows, the features have 5
  try {
    spread_features(torch::randn({2, 8, 3, 5, 5}), w, win, wrong_image);
    FAIL() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 8, 3, 5, 5]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(window_weight_gradient(image, torch::randn({2, 8, 3, 4, 5}), win), std::invalid_argument);
  EXPECT_FALSE(frame_kernels_take(image.to(torch::kBFloat16)));
  EXPECT_TRUE(frame_kernels_take(image));
}

TEST(FrameKernels, DirectLayersInFloatMatchTheGemmForm) {
  // The float path (built for AVX2 + FMA too) through the layers and autograd,
  // against the GEMM form with the same parameters.
  for (const bool channels_last : {false, true}) {
    SCOPED_TRACE(channels_last ? "channels_last" : "ncdhw");
    torch::manual_seed(5);
    SequenceGemmConv direct(1, ConvSpec{16, {1, 5, 5}, {1, 2, 2}}, channels_last, true);
    torch::manual_seed(5);
    SequenceGemmConv gemm(1, ConvSpec{16, {1, 5, 5}, {1, 2, 2}}, channels_last, false);
    torch::manual_seed(6);
    SequenceGemmConvTranspose direct_t(16, ConvSpec{1, {1, 5, 5}, {1, 2, 2}}, true);
    torch::manual_seed(6);
    SequenceGemmConvTranspose gemm_t(16, ConvSpec{1, {1, 5, 5}, {1, 2, 2}}, false);
    const auto x = torch::rand({3, 1, 5, 25, 25});
    auto x1 = x.clone().requires_grad_(true), x2 = x.clone().requires_grad_(true);
    const auto y1 = direct_t(torch::relu(direct(x1))), y2 = gemm_t(torch::relu(gemm(x2)));
    expect_close(y1, y2, "output");
    const auto up = torch::randn_like(y2);
    (y1 * up).sum().backward();
    (y2 * up).sum().backward();
    expect_close(x1.grad(), x2.grad(), "input gradient");
    expect_close(direct->weight.grad(), gemm->weight.grad(), "conv weight");
    expect_close(direct->bias.grad(), gemm->bias.grad(), "conv bias");
    expect_close(direct_t->weight.grad(), gemm_t->weight.grad(), "transposed weight");
    expect_close(direct_t->bias.grad(), gemm_t->bias.grad(), "transposed bias");
  }
}

TEST(FrameKernels, DirectLayersUnderBf16AutocastMatchTheGemmForm) {
  // bf16 activations go through the kernels in float: the same output types as
  // the GEMM form (bf16 out of the conv; the transposed conv's bf16 result plus
  // the float bias gives float) and values at least as close to float32's.
  struct Run {
    torch::Tensor h, y, grad_x, grad_w, grad_w_t;
  };
  auto run = [](bool frame_kernels, bool bf16) {
    torch::manual_seed(7);
    SequenceGemmConv conv(1, ConvSpec{16, {1, 5, 5}, {1, 2, 2}}, true, frame_kernels);
    SequenceGemmConvTranspose deconv(16, ConvSpec{1, {1, 5, 5}, {1, 2, 2}}, frame_kernels);
    const auto x = torch::rand({2, 1, 3, 25, 25}).requires_grad_(true);
    Run r;
    {
      std::optional<cdae::train::AutocastScope> autocast;
      if (bf16) autocast.emplace("bf16", torch::kCPU);
      r.h = conv(x);
      r.y = deconv(torch::relu(r.h));
    }
    (r.y.to(torch::kFloat) * torch::randn(r.y.sizes())).sum().backward();
    r.grad_x = x.grad();
    r.grad_w = conv->weight.grad();
    r.grad_w_t = deconv->weight.grad();
    return r;
  };
  const auto reference = run(false, false), direct = run(true, true), gemm = run(false, true);
  EXPECT_EQ(direct.h.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(direct.h.scalar_type(), gemm.h.scalar_type());
  EXPECT_EQ(direct.y.scalar_type(), gemm.y.scalar_type());
  EXPECT_EQ(direct.grad_x.scalar_type(), torch::kFloat);
  auto error = [](const torch::Tensor& a, const torch::Tensor& b) {
    return ((a.to(torch::kFloat) - b).abs().max() / b.abs().max()).item<double>();
  };
  const std::vector<std::pair<std::string, torch::Tensor Run::*>> parts{
      {"conv output", &Run::h}, {"output", &Run::y}, {"input gradient", &Run::grad_x},
      {"conv weight gradient", &Run::grad_w}, {"transposed weight gradient", &Run::grad_w_t}};
  for (const auto& [name, part] : parts) {
    const double e_direct = error(direct.*part, reference.*part), e_gemm = error(gemm.*part, reference.*part);
    EXPECT_LT(e_direct, 2e-2) << name;
    EXPECT_LE(e_direct, e_gemm * 1.5 + 1e-6) << name << ": direct " << e_direct << ", gemm " << e_gemm;
  }
}

TEST(FrameKernels, Bf16FeaturesAreReadAndWrittenAsTheyAre) {
  // With a float image the features may be bf16 (autocast's activations): the
  // kernels compute in float and convert a row at a time, so the results are
  // the float kernels' on the same (bf16-valued) features, rounded once.
  const FrameWindow win{5, 5, 2, 2};
  const auto image = torch::randn({2, 1, 3, 21, 21});
  const auto w = torch::randn({16, 25});
  const auto bias = torch::randn({16});
  for (const auto layout : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast3d}) {
    const auto f16 = window_products(image, w, bias, win, layout, torch::kBFloat16);
    EXPECT_EQ(f16.scalar_type(), torch::kBFloat16);
    EXPECT_TRUE(f16.is_contiguous(layout));
    EXPECT_TRUE(torch::equal(f16, window_products(image, w, bias, win, layout).to(torch::kBFloat16)));
    const auto g16 = torch::randn(f16.sizes()).to(torch::kBFloat16).contiguous(layout);
    auto spread16 = torch::zeros_like(image), spread32 = torch::zeros_like(image);
    spread_features(g16, w, win, spread16);
    spread_features(g16.to(torch::kFloat), w, win, spread32);
    EXPECT_TRUE(torch::equal(spread16, spread32));
    EXPECT_TRUE(torch::equal(window_weight_gradient(image, g16, win),
                             window_weight_gradient(image, g16.to(torch::kFloat), win)));
  }
  auto image64 = image.to(torch::kDouble);
  EXPECT_THROW(spread_features(torch::zeros({2, 16, 3, 9, 9}, torch::kBFloat16), w, win, image64),
               std::invalid_argument);
}
