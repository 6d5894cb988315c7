#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks and builds cdae into ./build.
# Idempotent: packages already present are not touched, the virtual
# environment is made once, the wheel is installed once, the build is
# incremental.
#
#   bash scripts/setup.sh                       # the default build: CUDA and NCCL compiled in (scripts/build.sh)
#   CDAE_BUILD_DIR=build-x bash scripts/setup.sh
#   CDAE_CUDA=off bash scripts/setup.sh         # a build without the CUDA/NCCL code paths
#
# What it installs:
#   - Debian's packages: compiler, CMake, Ninja, Open MPI, HDF5, cxxopts,
#     nlohmann-json, libpng, GoogleTest; Python with h5py, numpy, matplotlib,
#     scikit-learn (used by the Python checks, plots and baselines).
#   - .venv/ (ignored by git): a virtual environment over Debian's Python that
#     sees those Python packages, with the pinned PyTorch wheel (a CUDA build).
#     Its LibTorch is what cdae compiles against; its CUDA runtime and NCCL are
#     what cdae links (no CUDA toolkit or GPU needed to build or to run on CPU).
set -euo pipefail
cd "$(dirname "$0")/.."

torch_version="${CDAE_TORCH_VERSION:-2.15.0}"
venv="${CDAE_VENV:-$PWD/.venv}"

packages=(build-essential cmake ninja-build pkg-config
          libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
          libcxxopts-dev nlohmann-json3-dev libpng-dev zlib1g-dev libgtest-dev
          python3 python3-venv python3-pip python3-h5py python3-numpy python3-matplotlib python3-sklearn)
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

# Debian's interpreter, not whichever python3 comes first on PATH: the venv
# sees Debian's h5py, numpy, matplotlib and scikit-learn through
# --system-site-packages.
if [ ! -x "$venv/bin/python3" ]; then
  echo "== making the virtual environment $venv"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
installed=$("$venv/bin/python3" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
if [ "$installed" != "$torch_version" ]; then
  echo "== installing torch==$torch_version into $venv (a CUDA build, about 5 GB with its CUDA libraries)"
  "$venv/bin/python3" -m pip install -q --disable-pip-version-check "torch==$torch_version"
fi

# The wheel ships the CUDA runtime's headers but not the C runtime headers
# they include (crt/host_config.h, normally part of a CUDA toolkit): the
# small nvidia-cuda-crt wheel of the same version brings them, so no toolkit
# is needed (tests/e2e/test_no_cuda_toolkit.sh).
"$venv/bin/python3" - <<'PY' || { echo "setup.sh: could not install the CUDA C runtime headers (nvidia-cuda-crt)" >&2; exit 1; }
import glob, importlib.metadata as md, os, subprocess, sys, torch
if not torch.version.cuda:
    sys.exit(0)  # a CPU-only wheel: nothing to compile against
site = os.path.dirname(os.path.dirname(torch.__file__))
headers = glob.glob(os.path.join(site, "nvidia", "cu*", "include", "cuda_runtime.h"))
if not headers or os.path.exists(os.path.join(os.path.dirname(headers[0]), "crt", "host_config.h")):
    sys.exit(0)
version = md.version("nvidia-cuda-runtime")
print(f"== installing nvidia-cuda-crt=={version} (the CUDA C runtime headers, next to the wheel's CUDA runtime)")
subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                       f"nvidia-cuda-crt=={version}"])
PY

bash scripts/build.sh
