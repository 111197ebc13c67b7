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
# The frontier check from min(10x, half the ceiling): a faster and better point of another method
# is reported, one matched by any variant of MADDNESS's tables is not, and slower ones don't count.
"$python" - "$project/bench/experiment" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import plot_results as pr

def point(method, speedup, accuracy, ceiling=40.0):
    return {"method": method, "params": "C=2", "group": "", "accuracy": accuracy, "nmse": None,
            "speedup": speedup, "speedup_ceiling": ceiling}

points = [point("MADDNESS", 30.0, 0.80), point("MADDNESS-PQ", 12.0, 0.85),
          point("Bolt", 25.0, 0.84), point("PCA", 11.0, 0.84), point("HashJL", 5.0, 0.99)]
assert pr.frontier_threshold(points) == 10.0
assert pr.frontier_threshold([point("MADDNESS", 1.0, 0.5, ceiling=4.0)]) == 2.0
gaps = pr.frontier_gaps(points, 10.0)
assert [(p["method"], b["method"]) for p, b in gaps] == [("Bolt", "MADDNESS")], gaps
points.append(point("Exact", 50.0, 0.70))
gaps = pr.frontier_gaps(points, 10.0)
assert [(p["method"], b) for p, b in gaps][-1] == ("Exact", None), gaps
assert pr.bolt_ratios([
    {"method": "MADDNESS", "codebooks": 16, "time_ms": 0.5},
    {"method": "Bolt", "codebooks": 16, "time_ms": 2.0, "encode_ms": 1.5},
    {"method": "Bolt", "codebooks": 8, "time_ms": 1.0}]) == {16: (4.0, 1.5)}
PY
grep -q "^## MADDNESS's speed over Bolt" "$out/summary.md" ||
  { echo "plot_test: no Bolt table" >&2; exit 1; }
grep -q "^## The frontier from" "$out/summary.md" ||
  { echo "plot_test: no frontier table" >&2; exit 1; }
# A missing results folder is a clear error.
if "$python" "$project/bench/experiment/plot_results.py" "$out/nothing" 2>"$out/err.txt"; then
  echo "plot_test: a missing folder was accepted" >&2; exit 1
fi
grep -q "not a folder\|cannot read" "$out/err.txt" ||
  { echo "plot_test: unclear error" >&2; exit 1; }
echo "plot_test: ok"
