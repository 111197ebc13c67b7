#!/usr/bin/env bash
# Builds the project with sanitizers and runs the C++ tests and the command-line test under them.
#   bash scripts/sanitize.sh                  # AddressSanitizer + UndefinedBehaviorSanitizer
#   bash scripts/sanitize.sh thread           # ThreadSanitizer (the threaded paths)
# The Python module, the benchmarks and the install test are left out: a sanitized extension
# module would need the sanitizer runtime preloaded into the interpreter.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sanitizers=${1:-address,undefined}
build=build-sanitize-${sanitizers//,/-}
bash scripts/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMADDNESS_WERROR=ON \
  -DMADDNESS_SANITIZE="$sanitizers" -DMADDNESS_BUILD_BENCH=OFF -DMADDNESS_BUILD_PYTHON=OFF \
  --log-level=WARNING >/dev/null
cmake --build "$build" -j2
cd "$build"
ctest --output-on-failure -j2 -E 'install_consumer'
