#!/usr/bin/env bash
# Writes the golden files of the model file format that the sources in SOURCE_DIR write, into
# OUTPUT_DIR (tests/golden/README.md). Builds the library from SOURCE_DIR in a temporary folder and
# links make_golden.cc (from this folder) against it.
#   bash tests/golden/generate.sh SOURCE_DIR OUTPUT_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd "${1:?usage: generate.sh SOURCE_DIR OUTPUT_DIR}" && pwd)
output_dir=${2:?usage: generate.sh SOURCE_DIR OUTPUT_DIR}
mkdir -p "$output_dir"
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT

cmake -S "$source_dir" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DMADDNESS_BUILD_TESTS=OFF -DMADDNESS_BUILD_TOOLS=OFF -DMADDNESS_BUILD_BENCH=OFF \
  -DMADDNESS_BUILD_EXAMPLES=OFF -DMADDNESS_BUILD_PYTHON=OFF --log-level=WARNING >/dev/null
cmake --build "$build" -j "${JOBS:-2}" --target maddness
g++ -std=c++17 -O2 -ffp-contract=off -I"$source_dir" -I"$source_dir/include" \
  "$here/make_golden.cc" "$build/libmaddness.a" -lhwy -lz -pthread -o "$build/make_golden"
"$build/make_golden" "$output_dir"
