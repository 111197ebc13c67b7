#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (AddressSanitizer + UndefinedBehaviorSanitizer)
# and runs each for a while, starting from the committed seed corpus (docs/reliability.md).
#   bash scripts/fuzz.sh                    # every target, 60 s each
#   bash scripts/fuzz.sh 600 npy_reader     # one target for 10 minutes
# Environment: FUZZ_BUILD (build folder, default build-fuzz), FUZZ_JOBS (build jobs, default 2).
# New inputs that libFuzzer finds go to $FUZZ_BUILD/corpus/<target>, not into the repository; a
# crash leaves its input in $FUZZ_BUILD/artifacts/<target>/ and the script fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(model_reader npy_reader kernels_diff learn_reduce); fi
build=${FUZZ_BUILD:-build-fuzz}

# libFuzzer ships with clang: Debian's clang-14 and its runtime libraries.
if ! command -v clang++-14 >/dev/null || ! dpkg -s libclang-rt-14-dev >/dev/null 2>&1; then
  apt-get install -y --no-install-recommends clang-14 libclang-rt-14-dev
fi
bash scripts/install-deps.sh

CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMADDNESS_WERROR=ON -DMADDNESS_FUZZ=ON -DMADDNESS_SANITIZE=address,undefined \
  -DMADDNESS_BUILD_TESTS=OFF -DMADDNESS_BUILD_TOOLS=OFF -DMADDNESS_BUILD_BENCH=OFF \
  -DMADDNESS_BUILD_EXAMPLES=OFF -DMADDNESS_BUILD_PYTHON=OFF --log-level=WARNING >/dev/null
for target in "${targets[@]}"; do
  cmake --build "$build" -j "${FUZZ_JOBS:-2}" --target "maddness_fuzz_$target"
done

for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  artifacts=$build/artifacts/$target
  mkdir -p "$corpus" "$artifacts"
  echo "fuzzing $target for $seconds s"
  # -rss_limit_mb and -malloc_limit_mb: a reader that allocates what a hostile size field asks
  # for is a bug, reported as a crash. The first corpus folder receives the new inputs.
  status=0
  "$build/fuzz/maddness_fuzz_$target" "$corpus" "fuzz/corpus/$target" -max_total_time="$seconds" \
    -rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$build/$target.log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done )' "$build/$target.log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$build/$target.log" >&2
    echo "fuzz target $target failed: see $build/$target.log and $artifacts" >&2
    exit 1
  fi
done
