// The built-in picture: a coin with a dotted rim and the digits "78", drawn by
// the program at any size so no asset is downloaded. Torch-free.
#pragma once
#include "io/png.h"

namespace cdae::data {

// A rotation-asymmetric gray picture of the given size (values in [0, 1]),
// black outside the coin, deterministic.
io::GrayImage draw_coin(int height, int width);

}  // namespace cdae::data
