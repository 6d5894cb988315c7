#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks (idempotent: packages already
# present are not touched) and builds cdae into ./build.
#   bash scripts/setup.sh            # CPU build with Debian's LibTorch 1.13
#   CDAE_BUILD_DIR=build-x bash scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config
          libtorch-dev libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
          libcxxopts-dev nlohmann-json3-dev libpng-dev zlib1g-dev libgtest-dev
          python3 python3-torch python3-h5py python3-numpy python3-matplotlib)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

build="${CDAE_BUILD_DIR:-build}"
jobs="${CDAE_JOBS:-$(nproc)}"
echo "== building cdae in $build (-j$jobs)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$jobs"
