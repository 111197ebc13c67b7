#!/usr/bin/env bash
# Runs the whole experiment suite (`maddness-experiment --task all`) and draws its figures.
#
#   bash scripts/experiments.sh [OUT_DIR] [extra arguments for maddness-experiment...]
#
# OUT_DIR (default experiment-results) receives results.csv, results.json, results.png,
# results.svg and summary.md; when OUT_DIR is docs/results, README.md's results headline is
# rewritten from them too (bench/experiment/readme_headline.py). Environment:
# MADDNESS_EXPERIMENT = the maddness-experiment binary (default
# build/bench/experiment/maddness-experiment, configured and built here when missing), DATA = the
# shared data folder (default ../shared/data next to the project). One thread for every timed
# product unless the extra arguments say otherwise (e.g. --threads 2).
set -euo pipefail
project=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-experiment-results}
shift || true
data=${DATA:-$project/../shared/data}
experiment=${MADDNESS_EXPERIMENT:-$project/build/bench/experiment/maddness-experiment}
# OpenBLAS as the tests run it (this CPU exposes AVX2 only).
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell}
export OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-512}

if [[ ! -x $experiment ]]; then
  echo "experiments: building $experiment" >&2
  cmake -S "$project" -B "$project/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DMADDNESS_BUILD_EXPERIMENTS=ON -DPython_EXECUTABLE=/usr/bin/python3 >/dev/null
  cmake --build "$project/build" --target maddness_experiment
fi

mkdir -p "$out"
"$experiment" --task all --data "$data" --out "$out" "$@"
/usr/bin/python3 "$project/bench/experiment/plot_results.py" "$out"
# README.md's results headline is made from the committed results, docs/results: rewritten when
# that is OUT_DIR (the ctest experiment_readme_headline checks that the two match).
if [[ $(cd "$out" && pwd -P) == $(cd "$project/docs/results" && pwd -P) ]]; then
  /usr/bin/python3 "$project/bench/experiment/readme_headline.py"
else
  echo "experiments: README.md's headline follows docs/results only; to make it from these" \
    "results: /usr/bin/python3 bench/experiment/readme_headline.py --results $out/results.csv" >&2
fi
