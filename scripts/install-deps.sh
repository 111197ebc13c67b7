#!/usr/bin/env bash
# Installs every Debian package this project needs to build, test and run its demo.
# Idempotent: packages already installed are left alone, and when everything is present the
# script prints nothing and does not touch the network. Runs as root, or through sudo otherwise.
set -euo pipefail

packages=(
  build-essential cmake ninja-build clang-format  # tool chain
  libeigen3-dev libhwy-dev zlib1g-dev              # the library
  liblbfgspp-dev                                   # L-BFGS for the classifier-aware table fit
  libcli11-dev nlohmann-json3-dev libopenblas-dev  # the command-line program
  libgtest-dev libgmock-dev                        # tests
  libbenchmark-dev libdnnl-dev                     # benchmarks (exact baselines)
  # Debian's oneDNN CMake config (dnnl-config.cmake) runs find_package(OpenCL REQUIRED), which
  # needs libOpenCL.so and CL/cl.h; libdnnl-dev only recommends them, and recommends are not
  # installed here.
  ocl-icd-opencl-dev opencl-c-headers
  python3-numpy python3-pytest python3-torch pybind11-dev                       # Python module and test helpers
  python3-venv python3-pip python3-setuptools python3-wheel python3-build       # pip install . and wheels (pyproject.toml)
  dataset-fashion-mnist                            # the demo's data
  libopenmpi-dev openmpi-bin                       # maddness-mpi (MADDNESS_MPI): MPI scale-out
  python3-dask                                     # the Dask example and its test (scale-out)
  python3-matplotlib                               # bench/experiment/plot_results.py: experiment figures
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  if [[ $status != "install ok installed" ]]; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run this script as root or install sudo" >&2
  exit 1
fi

# Every download is tried twice (Acquire::Retries=1), and so is the index update as a whole, so
# that one network error does not fail the install.
apt_get() {
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=1 "$@"
}
echo "install-deps: installing ${missing[*]}" >&2
apt_get update -qq || apt_get update -qq
apt_get install -y -qq --no-install-recommends "${missing[@]}"
