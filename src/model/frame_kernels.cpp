#include "model/frame_kernels.h"

#include <c10/util/BFloat16.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/target_clones.h"

namespace cdae::model {

namespace {

// One sequence's geometry, and its feature tensor's strides (elements).
struct Shape {
  std::int64_t c, kh, kw, sh, sw, t, h, w, ho, wo;
  std::int64_t sc, st, sy, sx;
};

// A row of features (Wo pixels x C channels) to and from a contiguous (Wo, C)
// buffer, so that the inner loops run over channels with unit stride in both layouts.
template <typename T, typename F>
[[gnu::always_inline]] inline void load_row(const F* f, const Shape& s, T* __restrict row) {
  if (s.sc == 1 && s.sx == s.c) {
    std::copy(f, f + s.wo * s.c, row);
    return;
  }
  for (std::int64_t c = 0; c < s.c; ++c)
    for (std::int64_t x = 0; x < s.wo; ++x) row[x * s.c + c] = f[c * s.sc + x * s.sx];
}

template <typename T, typename F>
[[gnu::always_inline]] inline void store_row(const T* __restrict row, const Shape& s, F* f) {
  if (s.sc == 1 && s.sx == s.c) {
    std::transform(row, row + s.wo * s.c, f, [](T v) { return static_cast<F>(v); });
    return;
  }
  for (std::int64_t c = 0; c < s.c; ++c)
    for (std::int64_t x = 0; x < s.wo; ++x) f[c * s.sc + x * s.sx] = static_cast<F>(row[x * s.c + c]);
}

// The kernels below take the channel count C as a template argument where it
// is one of the common ones (8, 16, 32), so that a pixel's C accumulators stay
// in vector registers; C = 0 reads it at run time (s.c) and accumulates in memory.
template <int C>
[[gnu::always_inline]] inline std::int64_t channels(const Shape& s) {
  return C > 0 ? C : s.c;
}

// 32 bytes of T as one GCC/Clang vector (an AVX register, two SSE ones in the
// baseline build). The fixed-C paths are written with it: left to itself the
// compiler vectorised the loop over pixels instead, with strided gathers, 2x
// slower than scalar code.
template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(32)));
  static constexpr int lanes = 32 / sizeof(T);
};
template <typename T>
[[gnu::always_inline]] inline typename Vec<T>::type load(const T* p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
[[gnu::always_inline]] inline void store(T* p, typename Vec<T>::type v) {
  std::memcpy(p, &v, sizeof v);
}

// With C fixed, each kernel works on a block of B pixels (or window offsets)
// at once: B x C / lanes independent accumulators (8 vector registers), so the
// FMAs do not wait on each other, and each weight vector is loaded once per block.
template <typename T, int C>
constexpr int block_of() {
  return C / Vec<T>::lanes >= 8 ? 1 : 8 / (C / Vec<T>::lanes);
}

// B output pixels, fixed C: out[b, c] = bias[c] + sum_k w_kc[k, c] * window_k(pixel b),
// p the window of the first pixel.
template <typename T, int C, int B>
[[gnu::always_inline]] inline void products_of_pixels(const T* p, const T* w_kc, const T* bias, const Shape& s,
                                                      T* out) {
  constexpr int L = Vec<T>::lanes, NV = C / L;
  typename Vec<T>::type acc[B][NV] = {};
  if (bias)
    for (int b = 0; b < B; ++b)
      for (int q = 0; q < NV; ++q) acc[b][q] = load(bias + q * L);
  for (std::int64_t i = 0; i < s.kh; ++i)
    for (std::int64_t j = 0; j < s.kw; ++j) {
      typename Vec<T>::type wv[NV];
      for (int q = 0; q < NV; ++q) wv[q] = load(w_kc + (i * s.kw + j) * C + q * L);
      for (int b = 0; b < B; ++b) {
        const T v = p[b * s.sw + i * s.w + j];
        for (int q = 0; q < NV; ++q) acc[b][q] += wv[q] * v;
      }
    }
  for (int b = 0; b < B; ++b)
    for (int q = 0; q < NV; ++q) store(out + b * C + q * L, acc[b][q]);
}

// f[c, t, y, x] = b[c] + sum_k w_kc[k, c] * window_k(t, y, x); row: Wo*C scratch.
template <typename T, typename F, int C>
[[gnu::always_inline]] inline void products_of_sequence(const T* __restrict img, const T* __restrict w_kc,
                                                        const T* __restrict bias, const Shape& s, F* f,
                                                        T* __restrict row) {
  for (std::int64_t t = 0; t < s.t; ++t)
    for (std::int64_t y = 0; y < s.ho; ++y) {
      const T* top = img + (t * s.h + y * s.sh) * s.w;
      std::int64_t x = 0;
      if constexpr (C > 0) {
        constexpr int B = block_of<T, C>();
        for (; x + B <= s.wo; x += B) products_of_pixels<T, C, B>(top + x * s.sw, w_kc, bias, s, row + x * C);
        for (; x < s.wo; ++x) products_of_pixels<T, C, 1>(top + x * s.sw, w_kc, bias, s, row + x * C);
      } else {
        for (; x < s.wo; ++x) {
          const T* p = top + x * s.sw;
          T* __restrict out = row + x * s.c;
          for (std::int64_t c = 0; c < s.c; ++c) out[c] = bias ? bias[c] : T(0);
          for (std::int64_t i = 0; i < s.kh; ++i)
            for (std::int64_t j = 0; j < s.kw; ++j) {
              const T v = p[i * s.w + j];
              const T* __restrict wr = w_kc + (i * s.kw + j) * s.c;
              for (std::int64_t c = 0; c < s.c; ++c) out[c] += wr[c] * v;
            }
        }
      }
      store_row(row, s, f + t * s.st + y * s.sy);
    }
}

// B pixels, fixed C and padded kernel size KP: window_k(pixel b) += sum_c w_ck[c, k] r[b, c],
// p the window of the first pixel.
template <typename T, int C, int KP, int B>
[[gnu::always_inline]] inline void spread_of_pixels(const T* r, const T* w_ck, const Shape& s, T* p) {
  constexpr int L = Vec<T>::lanes, NV = KP / L;
  typename Vec<T>::type sums[B][NV] = {};
  for (int c = 0; c < C; ++c) {
    typename Vec<T>::type wv[NV];
    for (int q = 0; q < NV; ++q) wv[q] = load(w_ck + c * KP + q * L);
    for (int b = 0; b < B; ++b) {
      const T v = r[b * C + c];
      for (int q = 0; q < NV; ++q) sums[b][q] += wv[q] * v;
    }
  }
  for (int b = 0; b < B; ++b) {
    T u[KP];
    for (int q = 0; q < NV; ++q) store(u + q * L, sums[b][q]);
    T* pb = p + b * s.sw;
    for (std::int64_t i = 0; i < s.kh; ++i)
      for (std::int64_t j = 0; j < s.kw; ++j) pb[i * s.w + j] += u[i * s.kw + j];
  }
}

// window_k(t, y, x) += sum_c w_ck[c, k] * f[c, t, y, x]; w_ck padded to kp
// columns (a multiple of the vector width; KP: kp fixed at compile time, 0: at
// run time), u: kp scratch.
template <typename T, typename F, int C, int KP>
[[gnu::always_inline]] inline void spread_of_sequence(const F* f, const T* __restrict w_ck, std::int64_t kp,
                                                      const Shape& s, T* __restrict img, T* __restrict row,
                                                      T* __restrict u) {
  for (std::int64_t t = 0; t < s.t; ++t)
    for (std::int64_t y = 0; y < s.ho; ++y) {
      load_row(f + t * s.st + y * s.sy, s, row);
      T* top = img + (t * s.h + y * s.sh) * s.w;
      std::int64_t x = 0;
      if constexpr (C > 0 && KP > 0) {
        constexpr int B = block_of<T, KP>();
        for (; x + B <= s.wo; x += B) spread_of_pixels<T, C, KP, B>(row + x * C, w_ck, s, top + x * s.sw);
        for (; x < s.wo; ++x) spread_of_pixels<T, C, KP, 1>(row + x * C, w_ck, s, top + x * s.sw);
      } else {
        for (; x < s.wo; ++x) {
          std::fill(u, u + kp, T(0));
          const T* r = row + x * s.c;
          for (std::int64_t c = 0; c < s.c; ++c) {
            const T v = r[c];
            const T* __restrict wr = w_ck + c * kp;
            for (std::int64_t k = 0; k < kp; ++k) u[k] += wr[k] * v;
          }
          T* p = top + x * s.sw;
          for (std::int64_t i = 0; i < s.kh; ++i)
            for (std::int64_t j = 0; j < s.kw; ++j) p[i * s.w + j] += u[i * s.kw + j];
        }
      }
    }
}

// B window offsets j .. j+B-1 of one kernel row, fixed C, over a row of
// pixels: fa[b, c] += sum_x image(x*sw + b) r[x, c], p the image at offset j of pixel 0.
template <typename T, int C, int B>
[[gnu::always_inline]] inline void weight_gradient_of_offsets(const T* p, const T* row, const Shape& s, T* fa) {
  constexpr int L = Vec<T>::lanes, NV = C / L;
  typename Vec<T>::type a[B][NV] = {};
  for (std::int64_t x = 0; x < s.wo; ++x) {
    typename Vec<T>::type rv[NV];
    for (int q = 0; q < NV; ++q) rv[q] = load(row + x * C + q * L);
    for (int b = 0; b < B; ++b) {
      const T v = p[x * s.sw + b];
      for (int q = 0; q < NV; ++q) a[b][q] += rv[q] * v;
    }
  }
  for (int b = 0; b < B; ++b)
    for (int q = 0; q < NV; ++q) store(fa + b * C + q * L, load(fa + b * C + q * L) + a[b][q]);
}

// acc[k, c] += sum_{t,y,x} window_k(t, y, x) * f[c, t, y, x], a frame at a
// time into frame_acc (so that a float sum adds frames, not single products,
// to the total).
template <typename T, typename F, int C>
[[gnu::always_inline]] inline void weight_gradient_of_sequence(const T* __restrict img, const F* f, const Shape& s,
                                                               T* __restrict acc, T* __restrict frame_acc,
                                                               T* __restrict row) {
  const auto nc = channels<C>(s);
  const auto kc = s.kh * s.kw * nc;
  for (std::int64_t t = 0; t < s.t; ++t) {
    std::fill(frame_acc, frame_acc + kc, T(0));
    for (std::int64_t y = 0; y < s.ho; ++y) {
      load_row(f + t * s.st + y * s.sy, s, row);
      const T* top = img + (t * s.h + y * s.sh) * s.w;
      for (std::int64_t i = 0; i < s.kh; ++i) {
        std::int64_t j = 0;
        if constexpr (C > 0) {
          constexpr int B = block_of<T, C>();
          for (; j + B <= s.kw; j += B)
            weight_gradient_of_offsets<T, C, B>(top + i * s.w + j, row, s, frame_acc + (i * s.kw + j) * C);
          for (; j < s.kw; ++j)
            weight_gradient_of_offsets<T, C, 1>(top + i * s.w + j, row, s, frame_acc + (i * s.kw + j) * C);
        } else {
          for (; j < s.kw; ++j) {
            const T* p = top + i * s.w + j;
            T* __restrict fa = frame_acc + (i * s.kw + j) * nc;
            for (std::int64_t x = 0; x < s.wo; ++x) {
              const T v = p[x * s.sw];
              const T* __restrict r = row + x * nc;
              for (std::int64_t c = 0; c < nc; ++c) fa[c] += v * r[c];
            }
          }
        }
      }
    }
    for (std::int64_t e = 0; e < kc; ++e) acc[e] += frame_acc[e];
  }
}

// The entry points pick the instantiation for the channel count (and, for
// spread, a kernel of 17 to 32 values: kp = 32). T: the image's type and the
// one computed in; F: the features' (T, or bf16 with T float).
template <typename T, typename F>
[[gnu::always_inline]] inline void products_any(const T* img, const T* w_kc, const T* bias, const Shape& s, F* f,
                                                T* row) {
  switch (s.c) {
    case 8: return products_of_sequence<T, F, 8>(img, w_kc, bias, s, f, row);
    case 16: return products_of_sequence<T, F, 16>(img, w_kc, bias, s, f, row);
    case 32: return products_of_sequence<T, F, 32>(img, w_kc, bias, s, f, row);
    default: return products_of_sequence<T, F, 0>(img, w_kc, bias, s, f, row);
  }
}

template <typename T, typename F>
[[gnu::always_inline]] inline void spread_any(const F* f, const T* w_ck, std::int64_t kp, const Shape& s, T* img,
                                              T* row, T* u) {
  if (kp == 32) switch (s.c) {
      case 8: return spread_of_sequence<T, F, 8, 32>(f, w_ck, kp, s, img, row, u);
      case 16: return spread_of_sequence<T, F, 16, 32>(f, w_ck, kp, s, img, row, u);
      case 32: return spread_of_sequence<T, F, 32, 32>(f, w_ck, kp, s, img, row, u);
      default: break;
    }
  spread_of_sequence<T, F, 0, 0>(f, w_ck, kp, s, img, row, u);
}

template <typename T, typename F>
[[gnu::always_inline]] inline void weight_gradient_any(const T* img, const F* f, const Shape& s, T* acc,
                                                       T* frame_acc, T* row) {
  switch (s.c) {
    case 8: return weight_gradient_of_sequence<T, F, 8>(img, f, s, acc, frame_acc, row);
    case 16: return weight_gradient_of_sequence<T, F, 16>(img, f, s, acc, frame_acc, row);
    case 32: return weight_gradient_of_sequence<T, F, 32>(img, f, s, acc, frame_acc, row);
    default: return weight_gradient_of_sequence<T, F, 0>(img, f, s, acc, frame_acc, row);
  }
}

// float, the common case (and bf16 features computed in float), also built for
// AVX2 + FMA (model/target_clones.h).

using BFloat16 = c10::BFloat16;

CDAE_X86_64_V3_CLONE void products_float(const float* img, const float* w_kc, const float* bias, const Shape& s,
                                         float* f, float* row) {
  products_any(img, w_kc, bias, s, f, row);
}
CDAE_X86_64_V3_CLONE void products_bf16(const float* img, const float* w_kc, const float* bias, const Shape& s,
                                        BFloat16* f, float* row) {
  products_any(img, w_kc, bias, s, f, row);
}
CDAE_X86_64_V3_CLONE void spread_float(const float* f, const float* w_ck, std::int64_t kp, const Shape& s,
                                       float* img, float* row, float* u) {
  spread_any(f, w_ck, kp, s, img, row, u);
}
CDAE_X86_64_V3_CLONE void spread_bf16(const BFloat16* f, const float* w_ck, std::int64_t kp, const Shape& s,
                                      float* img, float* row, float* u) {
  spread_any(f, w_ck, kp, s, img, row, u);
}
CDAE_X86_64_V3_CLONE void weight_gradient_float(const float* img, const float* f, const Shape& s, float* acc,
                                                float* frame_acc, float* row) {
  weight_gradient_any(img, f, s, acc, frame_acc, row);
}
CDAE_X86_64_V3_CLONE void weight_gradient_bf16(const float* img, const BFloat16* f, const Shape& s, float* acc,
                                               float* frame_acc, float* row) {
  weight_gradient_any(img, f, s, acc, frame_acc, row);
}

void products(const float* img, const float* w_kc, const float* bias, const Shape& s, float* f, float* row) {
  products_float(img, w_kc, bias, s, f, row);
}
void products(const float* img, const float* w_kc, const float* bias, const Shape& s, BFloat16* f, float* row) {
  products_bf16(img, w_kc, bias, s, f, row);
}
void products(const double* img, const double* w_kc, const double* bias, const Shape& s, double* f, double* row) {
  products_any(img, w_kc, bias, s, f, row);
}
void spread(const float* f, const float* w_ck, std::int64_t kp, const Shape& s, float* img, float* row, float* u) {
  spread_float(f, w_ck, kp, s, img, row, u);
}
void spread(const BFloat16* f, const float* w_ck, std::int64_t kp, const Shape& s, float* img, float* row,
            float* u) {
  spread_bf16(f, w_ck, kp, s, img, row, u);
}
void spread(const double* f, const double* w_ck, std::int64_t kp, const Shape& s, double* img, double* row,
            double* u) {
  spread_any(f, w_ck, kp, s, img, row, u);
}
void weight_gradient(const float* img, const float* f, const Shape& s, float* acc, float* frame_acc, float* row) {
  weight_gradient_float(img, f, s, acc, frame_acc, row);
}
void weight_gradient(const float* img, const BFloat16* f, const Shape& s, float* acc, float* frame_acc,
                     float* row) {
  weight_gradient_bf16(img, f, s, acc, frame_acc, row);
}
void weight_gradient(const double* img, const double* f, const Shape& s, double* acc, double* frame_acc,
                     double* row) {
  weight_gradient_any(img, f, s, acc, frame_acc, row);
}

std::string sizes_of(const torch::Tensor& t) {
  std::string out;
  for (auto d : t.sizes()) out += (out.empty() ? "" : ", ") + std::to_string(d);
  return "[" + out + "]";
}

// The geometry of an image (N, 1, T, H, W) and its features (N, C, T, Ho, Wo).
Shape shape_of(const torch::Tensor& image, const torch::Tensor& features, std::int64_t channels, FrameWindow win) {
  const bool dims = image.dim() == 5 && features.dim() == 5;
  const auto ho = dims ? (image.size(3) - win.kh) / win.sh + 1 : 0, wo = dims ? (image.size(4) - win.kw) / win.sw + 1 : 0;
  if (!dims || image.size(1) != 1 || features.size(0) != image.size(0) || features.size(1) != channels ||
      features.size(2) != image.size(2) || features.size(3) != ho || features.size(4) != wo || ho < 1 || wo < 1)
    throw std::invalid_argument("frame kernels: an image of " + sizes_of(image) + " and features of " +
                                sizes_of(features) + " do not match a " + std::to_string(channels) + "-channel " +
                                std::to_string(win.kh) + "x" + std::to_string(win.kw) + " window of stride " +
                                std::to_string(win.sh) + "x" + std::to_string(win.sw));
  return Shape{channels,          win.kh,        win.kw,           win.sh,           win.sw,
               image.size(2),     image.size(3), image.size(4),    ho,               wo,
               features.stride(1), features.stride(2), features.stride(3), features.stride(4)};
}

// Runs fn(T(), F()) for the image type T and the feature type F the kernels
// take: float with float or bf16, double with double.
template <typename Fn>
void with_types(const torch::Tensor& image, const torch::Tensor& features, const char* name, Fn fn) {
  const auto i = image.scalar_type(), f = features.scalar_type();
  if (i == torch::kFloat && f == torch::kFloat) return fn(float(), float());
  if (i == torch::kFloat && f == torch::kBFloat16) return fn(float(), BFloat16());
  if (i == torch::kDouble && f == torch::kDouble) return fn(double(), double());
  throw std::invalid_argument(std::string(name) + ": an image of " + c10::toString(i) + " with features of " +
                              c10::toString(f) + " (taken: float with float or bf16, double with double)");
}

}  // namespace

bool frame_kernels_take(const torch::Tensor& t) {
  return t.is_cpu() && (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble);
}

torch::Tensor window_products(const torch::Tensor& image, const torch::Tensor& w, const torch::Tensor& bias,
                              FrameWindow window, torch::MemoryFormat layout, torch::ScalarType features_type) {
  if (image.dim() != 5 || image.size(1) != 1)
    throw std::invalid_argument("window_products: wants an image of (N, 1, T, H, W), got " + sizes_of(image));
  const auto img = image.contiguous();
  const auto c = w.size(0);
  const auto n = img.size(0), t = img.size(2);
  const auto ho = (img.size(3) - window.kh) / window.sh + 1, wo = (img.size(4) - window.kw) / window.sw + 1;
  if (features_type == torch::ScalarType::Undefined) features_type = img.scalar_type();
  auto f = torch::empty({n, c, t, ho, wo}, img.options().dtype(features_type).memory_format(layout));
  const auto s = shape_of(img, f, c, window);
  const auto w_kc = w.to(img.scalar_type()).reshape({c, -1}).t().contiguous();  // (K, C)
  const auto b = bias.defined() ? bias.to(img.scalar_type()).contiguous() : torch::Tensor();
  with_types(img, f, "window_products", [&](auto image_type, auto feature_type) {
    using T = decltype(image_type);
    using F = decltype(feature_type);
    const auto* img_p = img.data_ptr<T>();
    const auto* w_p = w_kc.data_ptr<T>();
    const T* b_p = b.defined() ? b.data_ptr<T>() : nullptr;
    auto* f_p = f.data_ptr<F>();
    const auto img_stride = img.stride(0), f_stride = f.stride(0);
    at::parallel_for(0, n, 1, [&](std::int64_t begin, std::int64_t end) {
      std::vector<T> row(s.wo * s.c);
      for (auto i = begin; i < end; ++i) products(img_p + i * img_stride, w_p, b_p, s, f_p + i * f_stride, row.data());
    });
  });
  return f;
}

void spread_features(const torch::Tensor& features, const torch::Tensor& w, FrameWindow window, torch::Tensor& image) {
  if (!image.is_contiguous())
    throw std::invalid_argument("spread_features: the image must be contiguous, got strides of " +
                                std::to_string(image.stride(4)) + " in its last dimension and a layout that is not");
  const auto c = w.size(0), k = window.kh * window.kw;
  const auto s = shape_of(image, features, c, window);
  const auto kp = (k + 7) / 8 * 8;
  auto w_ck = torch::zeros({c, kp}, image.options().memory_format(torch::MemoryFormat::Contiguous));
  w_ck.narrow(1, 0, k).copy_(w.reshape({c, k}));
  const auto n = image.size(0);
  with_types(image, features, "spread_features", [&](auto image_type, auto feature_type) {
    using T = decltype(image_type);
    using F = decltype(feature_type);
    const auto* f_p = features.data_ptr<F>();
    const auto* w_p = w_ck.data_ptr<T>();
    auto* img_p = image.data_ptr<T>();
    const auto img_stride = image.stride(0), f_stride = features.stride(0);
    at::parallel_for(0, n, 1, [&](std::int64_t begin, std::int64_t end) {
      std::vector<T> row(s.wo * s.c), u(kp);
      for (auto i = begin; i < end; ++i)
        spread(f_p + i * f_stride, w_p, kp, s, img_p + i * img_stride, row.data(), u.data());
    });
  });
}

torch::Tensor window_weight_gradient(const torch::Tensor& image, const torch::Tensor& features, FrameWindow window) {
  const auto img = image.contiguous();
  const auto c = features.size(1), k = window.kh * window.kw;
  const auto s = shape_of(img, features, c, window);
  const auto n = img.size(0);
  // One partial sum per thread, added at the end.
  auto partial = torch::zeros({at::get_num_threads(), k * c}, img.options().memory_format(torch::MemoryFormat::Contiguous));
  with_types(img, features, "window_weight_gradient", [&](auto image_type, auto feature_type) {
    using T = decltype(image_type);
    using F = decltype(feature_type);
    const auto* img_p = img.data_ptr<T>();
    const auto* f_p = features.data_ptr<F>();
    auto* partial_p = partial.data_ptr<T>();
    const auto img_stride = img.stride(0), f_stride = features.stride(0);
    at::parallel_for(0, n, 1, [&](std::int64_t begin, std::int64_t end) {
      std::vector<T> row(s.wo * s.c), frame_acc(k * c);
      auto* acc = partial_p + at::get_thread_num() * k * c;
      for (auto i = begin; i < end; ++i)
        weight_gradient(img_p + i * img_stride, f_p + i * f_stride, s, acc, frame_acc.data(), row.data());
    });
  });
  return partial.sum(0).view({k, c}).t().contiguous();  // (C, K)
}

}  // namespace cdae::model
