#!/usr/bin/env bash
# Builds the library alone, without the programs, the experiment lab or the Python module, in
# build-library/, and runs its own tests there. Checks that this build found none of the
# programs' dependencies (oneDNN, OpenBLAS, OpenMP, CLI11, nlohmann-json, pybind11, MPI): the
# library and its tests need only Highway, Eigen, LBFGS++ and zlib (and GoogleTest, Google
# Benchmark for the kernel benchmarks). CI runs it (.ci/run); about 6 minutes on 2 cores.
#
#   bash scripts/test-library.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build=${1:-build-library}

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMADDNESS_WERROR=ON \
  -DMADDNESS_BUILD_TESTS=ON -DMADDNESS_BUILD_TOOLS=OFF -DMADDNESS_BUILD_EXPERIMENTS=OFF \
  -DMADDNESS_BUILD_PYTHON=OFF --log-level=WARNING >/dev/null
# The cache names every package CMake looked for.
found=$(grep -E '^(dnnl|OpenBLAS|OpenMP|CLI11|nlohmann_json|pybind11|Python|MPI)[A-Za-z_]*(_DIR|_FOUND|_LIBRARY|_INCLUDE_DIR)?[:=]' \
  "$build/CMakeCache.txt" | grep -v -E -- '-NOTFOUND$' || true)
if [[ -n $found ]]; then
  echo "test-library: the library-only build looked for a program's dependency:" >&2
  echo "$found" >&2
  exit 1
fi
cmake --build "$build" -j2
# Nor does any of its programs load one.
for program in "$build"/tests/maddness_tests "$build"/tests/maddness_target_check; do
  if ldd "$program" | grep -E 'dnnl|openblas|blas|gomp|omp'; then
    echo "test-library: $program loads a program's dependency" >&2
    exit 1
  fi
done
cd "$build"
ctest --output-on-failure -j2
