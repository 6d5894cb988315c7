#include "model/bias_relu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "model/target_clones.h"

namespace cdae::model {

namespace {

// bf16 values are handled as their bits, so that the loops below are plain
// integer and float operations, which GCC vectorises.
using Bf16Bits = std::uint16_t;

// Values are stored as S and computed as Compute<S>: bf16 in float.
template <typename S>
struct Compute {
  using type = S;
};
template <>
struct Compute<Bf16Bits> {
  using type = float;
};

[[gnu::always_inline]] inline float widen(Bf16Bits v) {
  const std::uint32_t u = std::uint32_t(v) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
[[gnu::always_inline]] inline float widen(float v) { return v; }
[[gnu::always_inline]] inline double widen(double v) { return v; }

// c10's rounding: to nearest even, NaN kept as NaN.
template <typename S>
[[gnu::always_inline]] inline S narrow(typename Compute<S>::type v) {
  if constexpr (std::is_same_v<S, Bf16Bits>) {
    std::uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    return Bf16Bits(v != v ? 0x7FC0u : rounded);
  } else {
    return v;
  }
}

// v where pass, else +0, by masking its bits (a select of the values did not vectorise).
template <typename S>
[[gnu::always_inline]] inline S keep_if(S v, bool pass) {
  using U = std::conditional_t<sizeof(S) == 2, std::uint16_t, std::conditional_t<sizeof(S) == 4, std::uint32_t,
                                                                                   std::uint64_t>>;
  U u;
  std::memcpy(&u, &v, sizeof u);
  u &= U(0) - U(pass);
  std::memcpy(&v, &u, sizeof u);
  return v;
}

// Sums run over blocks of this many values in the compute type, each block's
// sum then added in double.
constexpr std::int64_t kSumBlock = 256;

// The two layouts, as runs of unit stride:
// - channels-last: `rows` pixels, each a run of the C channels;
// - NCDHW: N*C planes, each a run of `plane` values of one channel.

template <typename S>
[[gnu::always_inline]] inline void bias_relu_rows(S* y, const typename Compute<S>::type* b, std::int64_t rows,
                                                  std::int64_t c, bool relu) {
  using T = typename Compute<S>::type;
  for (std::int64_t r = 0; r < rows; ++r) {
    S* __restrict row = y + r * c;
    if (relu)
      for (std::int64_t k = 0; k < c; ++k) row[k] = narrow<S>(std::max(widen(row[k]) + b[k], T(0)));
    else
      for (std::int64_t k = 0; k < c; ++k) row[k] = narrow<S>(widen(row[k]) + b[k]);
  }
}

template <typename S>
[[gnu::always_inline]] inline void bias_relu_plane(S* __restrict y, typename Compute<S>::type b,
                                                   std::int64_t plane, bool relu) {
  using T = typename Compute<S>::type;
  if (relu)
    for (std::int64_t i = 0; i < plane; ++i) y[i] = narrow<S>(std::max(widen(y[i]) + b, T(0)));
  else
    for (std::int64_t i = 0; i < plane; ++i) y[i] = narrow<S>(widen(y[i]) + b);
}

// out = g where y > 0, else 0; acc[k] += out over the rows (acc: C values).
template <typename S>
[[gnu::always_inline]] inline void relu_gradient_rows(const S* g, const S* y, S* out, std::int64_t rows,
                                                      std::int64_t c, typename Compute<S>::type* __restrict acc) {
  using T = typename Compute<S>::type;
  for (std::int64_t r = 0; r < rows; ++r) {
    const S* __restrict gr = g + r * c;
    const S* __restrict yr = y + r * c;
    S* __restrict o = out + r * c;
    for (std::int64_t k = 0; k < c; ++k) {
      const S kept = keep_if(gr[k], widen(yr[k]) > T(0));
      o[k] = kept;
      acc[k] += widen(kept);
    }
  }
}

template <typename S>
[[gnu::always_inline]] inline typename Compute<S>::type relu_gradient_run(const S* __restrict g,
                                                                          const S* __restrict y,
                                                                          S* __restrict out, std::int64_t n) {
  using T = typename Compute<S>::type;
  // 16 running sums, one per lane, so that the sum vectorises (a single one
  // would have to add in order).
  constexpr int kLanes = 16;
  T lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const S kept = keep_if(g[i + l], widen(y[i + l]) > T(0));
      out[i + l] = kept;
      lanes[l] += widen(kept);
    }
  for (; i < n; ++i) {
    const S kept = keep_if(g[i], widen(y[i]) > T(0));
    out[i] = kept;
    lanes[0] += widen(kept);
  }
  T sum = 0;
  for (int l = 0; l < kLanes; ++l) sum += lanes[l];
  return sum;
}

// float and bf16 also built for AVX2 (model/target_clones.h); the overloads
// below pick the kernel of a storage type.
CDAE_X86_64_V3_CLONE void bias_relu_rows_float(float* y, const float* b, std::int64_t rows, std::int64_t c,
                                               bool relu) {
  bias_relu_rows(y, b, rows, c, relu);
}
CDAE_X86_64_V3_CLONE void bias_relu_rows_bf16(Bf16Bits* y, const float* b, std::int64_t rows, std::int64_t c,
                                              bool relu) {
  bias_relu_rows(y, b, rows, c, relu);
}
CDAE_X86_64_V3_CLONE void bias_relu_plane_float(float* y, float b, std::int64_t plane, bool relu) {
  bias_relu_plane(y, b, plane, relu);
}
CDAE_X86_64_V3_CLONE void bias_relu_plane_bf16(Bf16Bits* y, float b, std::int64_t plane, bool relu) {
  bias_relu_plane(y, b, plane, relu);
}
CDAE_X86_64_V3_CLONE void relu_gradient_rows_float(const float* g, const float* y, float* out, std::int64_t rows,
                                                   std::int64_t c, float* acc) {
  relu_gradient_rows(g, y, out, rows, c, acc);
}
CDAE_X86_64_V3_CLONE void relu_gradient_rows_bf16(const Bf16Bits* g, const Bf16Bits* y, Bf16Bits* out,
                                                  std::int64_t rows, std::int64_t c, float* acc) {
  relu_gradient_rows(g, y, out, rows, c, acc);
}
CDAE_X86_64_V3_CLONE float relu_gradient_run_float(const float* g, const float* y, float* out, std::int64_t n) {
  return relu_gradient_run(g, y, out, n);
}
CDAE_X86_64_V3_CLONE float relu_gradient_run_bf16(const Bf16Bits* g, const Bf16Bits* y, Bf16Bits* out,
                                                  std::int64_t n) {
  return relu_gradient_run(g, y, out, n);
}

void bias_relu_rows_of(float* y, const float* b, std::int64_t rows, std::int64_t c, bool relu) {
  bias_relu_rows_float(y, b, rows, c, relu);
}
void bias_relu_rows_of(Bf16Bits* y, const float* b, std::int64_t rows, std::int64_t c, bool relu) {
  bias_relu_rows_bf16(y, b, rows, c, relu);
}
void bias_relu_rows_of(double* y, const double* b, std::int64_t rows, std::int64_t c, bool relu) {
  bias_relu_rows(y, b, rows, c, relu);
}
void bias_relu_plane_of(float* y, float b, std::int64_t plane, bool relu) { bias_relu_plane_float(y, b, plane, relu); }
void bias_relu_plane_of(Bf16Bits* y, float b, std::int64_t plane, bool relu) {
  bias_relu_plane_bf16(y, b, plane, relu);
}
void bias_relu_plane_of(double* y, double b, std::int64_t plane, bool relu) { bias_relu_plane(y, b, plane, relu); }
void relu_gradient_rows_of(const float* g, const float* y, float* out, std::int64_t rows, std::int64_t c,
                           float* acc) {
  relu_gradient_rows_float(g, y, out, rows, c, acc);
}
void relu_gradient_rows_of(const Bf16Bits* g, const Bf16Bits* y, Bf16Bits* out, std::int64_t rows, std::int64_t c,
                           float* acc) {
  relu_gradient_rows_bf16(g, y, out, rows, c, acc);
}
void relu_gradient_rows_of(const double* g, const double* y, double* out, std::int64_t rows, std::int64_t c,
                           double* acc) {
  relu_gradient_rows(g, y, out, rows, c, acc);
}
float relu_gradient_run_of(const float* g, const float* y, float* out, std::int64_t n) {
  return relu_gradient_run_float(g, y, out, n);
}
float relu_gradient_run_of(const Bf16Bits* g, const Bf16Bits* y, Bf16Bits* out, std::int64_t n) {
  return relu_gradient_run_bf16(g, y, out, n);
}
double relu_gradient_run_of(const double* g, const double* y, double* out, std::int64_t n) {
  return relu_gradient_run(g, y, out, n);
}

bool is_channels_last(const torch::Tensor& t) {
  return t.dim() == 5 && !t.is_contiguous() && t.is_contiguous(torch::MemoryFormat::ChannelsLast3d);
}

// Whether the kernels take y: on the CPU, in a layout above and a type they know.
bool kernels_take(const torch::Tensor& y) {
  const auto type = y.scalar_type();
  return y.is_cpu() && y.dim() >= 2 && y.numel() > 0 && (y.is_contiguous() || is_channels_last(y)) &&
         (type == torch::kFloat || type == torch::kDouble || type == torch::kBFloat16);
}

template <typename Fn>
void with_storage_type(torch::ScalarType type, Fn fn) {
  switch (type) {
    case torch::kFloat: return fn(float{});
    case torch::kDouble: return fn(double{});
    default: return fn(Bf16Bits{});  // bf16
  }
}

std::vector<std::int64_t> all_but_channels(std::int64_t dim) {
  std::vector<std::int64_t> dims{0};
  for (std::int64_t d = 2; d < dim; ++d) dims.push_back(d);
  return dims;
}

}  // namespace

void add_bias_relu_(torch::Tensor& y, const torch::Tensor& bias, bool relu) {
  if (!kernels_take(y)) {
    std::vector<std::int64_t> shape(y.dim(), 1);
    shape[1] = -1;
    y.add_(bias.to(y.scalar_type()).view(shape));
    if (relu) y.clamp_min_(0);
    return;
  }
  const auto n = y.size(0), c = y.size(1), plane = y.numel() / (n * c);
  TORCH_CHECK(bias.numel() == c, "add_bias_relu_: bias of ", bias.numel(), " values for ", c, " channels");
  with_storage_type(y.scalar_type(), [&](auto s) {
    using S = decltype(s);
    using T = typename Compute<S>::type;
    // Rounded to y's type first, as ATen's add_ of bias.to(y's type) does.
    const auto b_tensor = bias.to(y.scalar_type()).to(torch::CppTypeToScalarType<T>::value).contiguous();
    const T* b = static_cast<const T*>(b_tensor.data_ptr());
    S* data = reinterpret_cast<S*>(y.data_ptr());
    if (is_channels_last(y)) {
      at::parallel_for(0, n * plane, kSumBlock, [&](std::int64_t r0, std::int64_t r1) {
        bias_relu_rows_of(data + r0 * c, b, r1 - r0, c, relu);
      });
    } else {
      at::parallel_for(0, n * c, 1, [&](std::int64_t p0, std::int64_t p1) {
        for (auto p = p0; p < p1; ++p) bias_relu_plane_of(data + p * plane, b[p % c], plane, relu);
      });
    }
  });
}

ReluGradient relu_gradient_with_channel_sums(const torch::Tensor& grad_y, const torch::Tensor& y,
                                             torch::ScalarType sums_type) {
  if (!kernels_take(y)) {
    auto grad = torch::where(y > 0, grad_y, torch::zeros({}, grad_y.options()));
    return {grad, grad.sum(all_but_channels(y.dim())).to(sums_type)};
  }
  const bool rows = is_channels_last(y);
  const auto g = grad_y.to(y.scalar_type()).contiguous(rows ? torch::MemoryFormat::ChannelsLast3d
                                                            : torch::MemoryFormat::Contiguous);
  auto grad = torch::empty_like(y);
  const auto n = y.size(0), c = y.size(1), plane = y.numel() / (n * c);
  // One partial sum per block of rows (channels-last) or per plane (NCDHW),
  // added up in a fixed order below.
  const auto blocks = rows ? (n * plane + kSumBlock - 1) / kSumBlock : n;
  std::vector<double> partial(blocks * c, 0.0);
  with_storage_type(y.scalar_type(), [&](auto s) {
    using S = decltype(s);
    using T = typename Compute<S>::type;
    const S* gd = reinterpret_cast<const S*>(g.data_ptr());
    const S* yd = reinterpret_cast<const S*>(y.data_ptr());
    S* out = reinterpret_cast<S*>(grad.data_ptr());
    if (rows) {
      const auto total = n * plane;
      at::parallel_for(0, blocks, 1, [&](std::int64_t b0, std::int64_t b1) {
        std::vector<T> acc(c);
        for (auto b = b0; b < b1; ++b) {
          std::fill(acc.begin(), acc.end(), T(0));
          const auto r0 = b * kSumBlock, r1 = std::min(r0 + kSumBlock, total);
          relu_gradient_rows_of(gd + r0 * c, yd + r0 * c, out + r0 * c, r1 - r0, c, acc.data());
          std::copy(acc.begin(), acc.end(), partial.begin() + b * c);
        }
      });
    } else {
      at::parallel_for(0, n * c, 1, [&](std::int64_t p0, std::int64_t p1) {
        for (auto p = p0; p < p1; ++p) {
          double sum = 0;
          for (std::int64_t i = 0; i < plane; i += kSumBlock) {
            const auto off = p * plane + i;
            sum += relu_gradient_run_of(gd + off, yd + off, out + off, std::min(kSumBlock, plane - i));
          }
          partial[p] = sum;  // p = sample * c + channel
        }
      });
    }
  });
  auto sums = torch::zeros({c}, torch::kDouble);
  auto* sd = sums.data_ptr<double>();
  for (std::int64_t b = 0; b < blocks; ++b)
    for (std::int64_t k = 0; k < c; ++k) sd[k] += partial[b * c + k];
  return {grad, sums.to(sums_type)};
}

}  // namespace cdae::model
