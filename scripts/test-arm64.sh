#!/usr/bin/env bash
# Cross-builds the library and its C++ tests for 64-bit Arm (arm64) on this x86-64 machine and
# runs the SIMD kernel, reference, model-file and determinism tests under qemu-user, on every
# arm64 target Highway 1.0.3 compiles: NEON, SVE, SVE2, SVE_256 and SVE2_128. Each test compares
# the kernels with the scalar references bit for bit (and the golden model files with the same
# outputs as on x86), on every target the emulated CPU can run; the emulated CPU is run three
# times, with SVE vectors of 512, 256 and 128 bits, because SVE_256 needs 256-bit vectors and
# SVE2_128 128-bit ones. MADDNESS_TARGET forces each target once more (forced_target_* tests).
#
#   sudo bash scripts/test-arm64.sh [BUILD_DIR]     # default build-arm64
#
# Installs what it needs once (as root): Debian's cross compiler (crossbuild-essential-arm64),
# qemu-user-static, and the arm64 builds of Highway, GoogleTest and zlib through multiarch
# (dpkg --add-architecture arm64); Eigen and LBFGS++ are headers, shared with the x86 build.
# Left out of the arm64 build: the programs, the experiment lab (oneDNN and OpenBLAS baselines),
# the Python module, MPI and the benchmarks; the library and its tests need none of them. Tests
# that only exercise files, learning or the C++ API's arithmetic off the kernels run on x86.
# About 10 minutes on 2 cores shared with other work (the build about 3, the three emulated
# rounds 1.5 to 2.5 each).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build-arm64}
me=test-arm64

# The packages, installed when one is missing.
packages=(crossbuild-essential-arm64 qemu-user-static libhwy-dev:arm64 libgtest-dev:arm64
  libgmock-dev:arm64 zlib1g-dev:arm64 libeigen3-dev liblbfgspp-dev cmake ninja-build)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "$me: missing packages: ${missing[*]}; run as root to install them" >&2
    exit 1
  fi
  echo "$me: installing ${missing[*]}" >&2
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o Acquire::Retries=2 update -qq
  apt-get -o Acquire::Retries=2 install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMADDNESS_WERROR=ON \
  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake \
  -DMADDNESS_BUILD_TESTS=ON -DMADDNESS_BUILD_TOOLS=OFF -DMADDNESS_BUILD_EXPERIMENTS=OFF \
  -DMADDNESS_BUILD_PYTHON=OFF -DMADDNESS_BUILD_BENCH=OFF -DMADDNESS_BUILD_EXAMPLES=OFF \
  -DMADDNESS_MPI=OFF --log-level=WARNING >/dev/null
cmake --build "$build" -j2

# The programs are arm64 programs.
if ! file -L "$build/tests/maddness_tests" | grep -q 'ARM aarch64'; then
  echo "$me: $build/tests/maddness_tests is not an arm64 program" >&2
  exit 1
fi

# The tests of the kernels on every runnable target (they loop over the targets themselves), of
# the references they are compared with, of the model files (the golden files written on x86 must
# load with the same outputs, computed here by the arm64 kernels), of the seed's determinism, and
# the forced targets. Left to x86: the tests that learn models of some size (Model.*,
# DeterminismPairTables, Options/Determinism: each over 15 minutes under qemu; the kernels they
# run are the ones tested here), files, training and hardening.
kernels='^(EncodeKernels|ScanKernels|SimdTargets|ScanTuning|Averaging)\.|^forced_target_'
all="$kernels"'|^(EncodeRef|ScanRef|Lut|ModelFileTest|Golden|DeterminismSeed)\.'
cd "$build"
for vector_bytes in 64 32 16; do
  # 512-bit SVE vectors: NEON, SVE and SVE2; 256: also SVE_256; 128: also SVE2_128.
  export QEMU_CPU="max,sve-default-vector-length=$vector_bytes"
  if [[ $vector_bytes == 64 ]]; then selection=$all; else selection=$kernels; fi
  echo "$me: SVE vectors of $((vector_bytes * 8)) bits (QEMU_CPU=$QEMU_CPU)" >&2
  ctest --output-on-failure -j2 -R "$selection" | tee "ctest-sve$((vector_bytes * 8)).log"
  # Which forced targets ran here (the others are skipped: this emulated CPU cannot run them).
  grep -E 'forced_target_[A-Za-z0-9_]+ \.+ +Passed' "ctest-sve$((vector_bytes * 8)).log" |
    grep -v 'forced_target_refuses_' |
    sed -E 's/.*forced_target_([A-Za-z0-9_]+) .*/\1/' | tr '\n' ' ' |
    sed "s/^/$me: targets run bit-exact with the references at $((vector_bytes * 8)) bits: /" >&2
  echo >&2
done
