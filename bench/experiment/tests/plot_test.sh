#!/usr/bin/env bash
# ctest experiment_plots: bench/experiment/plot_results.py on the results of experiment_quick.
# Skipped (77) when matplotlib is missing. Usage: plot_test.sh PROJECT_DIR RESULTS_DIR
set -euo pipefail
project=$1
results=$2
python=/usr/bin/python3
if ! "$python" -c "import matplotlib" 2>/dev/null; then
  echo "plot_test: python3-matplotlib is not installed; skipped"
  exit 77
fi
[[ -f $results/results.json ]] || { echo "plot_test: no $results/results.json" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$python" "$project/bench/experiment/plot_results.py" "$results" --out "$out"
for name in results.png results.svg summary.md; do
  [[ -s $out/$name ]] || { echo "plot_test: $name missing or empty" >&2; exit 1; }
done
# A real PNG and SVG, and the acceptance table.
head -c 8 "$out/results.png" | od -An -c | grep -q "P   N   G" ||
  { echo "plot_test: not a PNG" >&2; exit 1; }
grep -q "<svg" "$out/results.svg" || { echo "plot_test: not an SVG" >&2; exit 1; }
grep -q "^## Acceptance" "$out/summary.md" ||
  { echo "plot_test: no acceptance table" >&2; exit 1; }
# A missing results folder is a clear error.
if "$python" "$project/bench/experiment/plot_results.py" "$out/nothing" 2>"$out/err.txt"; then
  echo "plot_test: a missing folder was accepted" >&2; exit 1
fi
grep -q "not a folder\|cannot read" "$out/err.txt" ||
  { echo "plot_test: unclear error" >&2; exit 1; }
echo "plot_test: ok"
