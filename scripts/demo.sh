#!/usr/bin/env bash
# Sets up, builds and runs the project's main job: learn MADDNESS for a Fashion-MNIST linear
# classifier and report its accuracy and speed against the exact product.
#   bash scripts/demo.sh [maddness demo options, e.g. --codebooks 32]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE=/usr/bin/python3 \
  --log-level=WARNING --no-warn-unused-cli >/dev/null
cmake --build build -j2 --target maddness_cli
exec build/tools/maddness demo "$@"
