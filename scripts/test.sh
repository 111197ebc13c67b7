#!/usr/bin/env bash
# Sets up, builds (warnings are errors) and runs every test of the project.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMADDNESS_WERROR=ON \
  -DMADDNESS_BUILD_TESTS=ON -DMADDNESS_MPI=ON -DPython_EXECUTABLE=/usr/bin/python3 \
  --log-level=WARNING --no-warn-unused-cli >/dev/null
cmake --build build -j2
cd build
ctest --output-on-failure -j2

# The C++ tests again under AddressSanitizer + UndefinedBehaviorSanitizer (docs/reliability.md):
# about 8 more minutes on 2 cores, so only on request: MADDNESS_TEST_SANITIZE=1.
if [[ ${MADDNESS_TEST_SANITIZE:-} == 1 ]]; then
  cd .. && bash scripts/sanitize.sh address,undefined
fi
