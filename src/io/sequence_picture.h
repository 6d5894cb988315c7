// The reference's pictures: each column is one sequence's T frames stacked
// vertically; columns stand side by side (e.g. input | reconstruction).
// Pixels are x255 and clipped to [0, 255]. Torch-free.
#pragma once
#include <string>
#include <vector>

namespace cdae::io {

// columns[k] points to T*H*W floats (frame-major, row-major frames).
void write_sequence_picture(const std::string& path, const std::vector<const float*>& columns, int frames,
                            int height, int width);

}  // namespace cdae::io
