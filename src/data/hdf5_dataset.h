// A dataset in the layout of docs/datasets.md, opened and checked once: the
// labels and splits are small and held by every rank; the samples stay in the
// file and are read by rows, so a rank reads only what it trains on and the
// file may be larger than memory.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace cdae::io {
class H5File;
}

namespace cdae::data {

enum class Split : std::int64_t { train = 0, val = 1, test = 2 };
constexpr std::int64_t kNormalLabel = 0;
constexpr std::int64_t kDefectLabel = 1;

class Hdf5Dataset {
 public:
  // Checks every rule of the layout; a broken file, a missing dataset, a
  // shape or type mismatch or a label out of range throws naming the file and
  // the dataset.
  explicit Hdf5Dataset(const std::string& path);
  ~Hdf5Dataset();
  Hdf5Dataset(Hdf5Dataset&&) noexcept;

  const std::string& path() const { return path_; }
  std::int64_t size() const { return static_cast<std::int64_t>(labels_.size()); }
  const std::vector<std::int64_t>& sample_shape() const { return sample_shape_; }
  const std::vector<std::int64_t>& labels() const { return labels_; }
  const std::vector<std::int64_t>& splits() const { return splits_; }
  const std::vector<std::string>& class_names() const { return class_names_; }

  // Ascending indices of the samples of `split` whose label passes `keep`.
  template <typename Keep>
  std::vector<std::int64_t> indices(Split split, Keep keep) const {
    std::vector<std::int64_t> out;
    for (std::int64_t i = 0; i < size(); ++i)
      if (splits_[i] == static_cast<std::int64_t>(split) && keep(labels_[i])) out.push_back(i);
    return out;
  }

  // Samples at `rows` (any order, repeats allowed) as float32 (n, sample
  // shape...); integer files are scaled by 1/255. Non-finite values throw.
  torch::Tensor read(const std::vector<std::int64_t>& rows) const;

 private:
  std::string path_;
  std::unique_ptr<io::H5File> file_;
  bool integer_samples_ = false;
  std::vector<std::int64_t> sample_shape_, labels_, splits_;
  std::vector<std::string> class_names_;
};

}  // namespace cdae::data
