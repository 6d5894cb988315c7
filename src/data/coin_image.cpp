#include "data/coin_image.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace cdae::data {
namespace {

// Gray levels: the digits must stay visible on the disk after rotation blurs
// them, and the dots must stand out from the rim.
constexpr double kBackground = 0.0;
constexpr double kDiskCenter = 0.75;
constexpr double kDiskEdge = 0.55;
constexpr double kRim = 0.85;
constexpr double kDot = 1.0;
constexpr double kDigit = 0.15;

constexpr int kDots = 36;
constexpr int kMissingDot = 0;  // at 12 o'clock
constexpr int kBigDot = 9;      // at 3 o'clock
constexpr double kDotRing = 0.80;
constexpr double kPi = 3.14159265358979323846;

struct Vec {
  double x, y;
};

double length(Vec v) { return std::sqrt(v.x * v.x + v.y * v.y); }

// Distance from p to the segment ab: a stroke of half-width w is the set of
// points closer than w, with round caps for free.
double segment_distance(Vec p, Vec a, Vec b) {
  const Vec ab{b.x - a.x, b.y - a.y};
  const Vec ap{p.x - a.x, p.y - a.y};
  const double t = std::clamp((ap.x * ab.x + ap.y * ab.y) / (ab.x * ab.x + ab.y * ab.y), 0.0, 1.0);
  return length({ap.x - t * ab.x, ap.y - t * ab.y});
}

// Approximate distance to an axis-aligned ellipse outline (first order:
// level-set value over gradient length), accurate near the outline, which is
// all a stroke needs.
double ellipse_distance(Vec p, Vec c, double a, double b) {
  const double dx = p.x - c.x;
  const double dy = p.y - c.y;
  const double rho = std::sqrt((dx / a) * (dx / a) + (dy / b) * (dy / b));
  if (rho == 0.0) return std::min(a, b);
  const double gx = dx / (a * a * rho);
  const double gy = dy / (b * b * rho);
  return std::abs(rho - 1.0) / std::sqrt(gx * gx + gy * gy);
}

// Everything below is in units of the coin radius, origin at the coin
// center, y pointing down as in the image.
struct Coin {
  double stroke;      // half-width of the digit strokes
  double dot_radius;  // radius of the rim dots

  bool in_digits(Vec p) const {
    if (std::abs(p.x) > 0.5 || std::abs(p.y) > 0.45) return false;
    const double w = stroke;
    // "7": a top bar and a slanted stem.
    const Vec top_left{-0.43 + w, -0.36 + w};
    const Vec top_right{-0.07 - w, -0.36 + w};
    const Vec foot{-0.30, 0.36 - w};
    if (segment_distance(p, top_left, top_right) <= w) return true;
    if (segment_distance(p, top_right, foot) <= w) return true;
    // "8": two stacked loops, the upper one smaller, touching in the middle.
    const double upper_b = 0.135, lower_b = 0.16;
    if (ellipse_distance(p, {0.25, -0.36 + w + upper_b}, 0.10, upper_b) <= w) return true;
    if (ellipse_distance(p, {0.25, 0.36 - w - lower_b}, 0.115, lower_b) <= w) return true;
    return false;
  }

  bool in_dot(Vec p, double r) const {
    if (std::abs(r - kDotRing) > 2.0 * dot_radius) return false;
    const double step = 2.0 * kPi / kDots;
    // Angle clockwise from 12 o'clock.
    const double angle = std::atan2(p.x, -p.y);
    const int k = ((static_cast<int>(std::lround(angle / step)) % kDots) + kDots) % kDots;
    if (k == kMissingDot) return false;
    const double radius = k == kBigDot ? 1.8 * dot_radius : dot_radius;
    const Vec center{kDotRing * std::sin(k * step), -kDotRing * std::cos(k * step)};
    return length({p.x - center.x, p.y - center.y}) <= radius;
  }

  double value(Vec p) const {
    const double r = length(p);
    if (r > 1.0) return kBackground;
    if (in_dot(p, r)) return kDot;
    if (r > 0.93) return kRim;
    if (in_digits(p)) return kDigit;
    return kDiskEdge + (kDiskCenter - kDiskEdge) * (1.0 - r);
  }
};

}  // namespace

io::GrayImage draw_coin(int height, int width) {
  if (height < 1 || width < 1 || height > 16384 || width > 16384) {
    throw std::invalid_argument("draw_coin: size " + std::to_string(height) + "x" + std::to_string(width) +
                                " is outside 1..16384");
  }
  const double radius = 0.45 * std::min(height, width);
  // Below about a pixel the strokes would vanish in small pictures.
  const Coin coin{std::max(0.065, 0.55 / radius), std::max(0.045, 0.5 / radius)};
  // Integer division on purpose: the center is the pixel (h//2, w//2), the
  // point the rotation code turns the picture around.
  const double cx = width / 2;
  const double cy = height / 2;

  // 4x4 samples per pixel: enough antialiasing that rotated copies do not
  // shimmer, cheap enough for 512x512.
  constexpr int kSub = 4;
  io::GrayImage image;
  image.height = height;
  image.width = width;
  image.pixels.assign(static_cast<std::size_t>(height) * static_cast<std::size_t>(width), 0.0f);
  for (int i = 0; i < height; ++i) {
    for (int j = 0; j < width; ++j) {
      double sum = 0.0;
      for (int si = 0; si < kSub; ++si) {
        for (int sj = 0; sj < kSub; ++sj) {
          const double y = i + (si + 0.5) / kSub - 0.5;
          const double x = j + (sj + 0.5) / kSub - 0.5;
          sum += coin.value({(x - cx) / radius, (y - cy) / radius});
        }
      }
      const double mean = sum / (kSub * kSub);
      image.pixels[static_cast<std::size_t>(i) * width + j] = static_cast<float>(std::clamp(mean, 0.0, 1.0));
    }
  }
  return image;
}

}  // namespace cdae::data
