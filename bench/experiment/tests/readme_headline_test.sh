#!/usr/bin/env bash
# ctest experiment_readme_headline: README.md's headline matches docs/results/results.csv
# (readme_headline.py --check); on copies, that the script rewrites only its block, that --check
# fails on a stale block, a results file without the classifier-aware rows or without a task,
# and bad arguments.
# Usage: readme_headline_test.sh PROJECT_DIR WORK_DIR
set -euo pipefail
project=$1
work=$2
python=/usr/bin/python3
script=$project/bench/experiment/readme_headline.py
rm -rf "$work"
mkdir -p "$work"

fail() { echo "readme_headline_test: $*" >&2; exit 1; }

# The committed README against the committed results.
"$python" "$script" --check --results "$project/docs/results/results.csv" \
  --readme "$project/README.md" || fail "README.md does not match docs/results/results.csv"

# A copy with a stale number: --check fails and names the command; a rewrite fixes only the block.
cp "$project/README.md" "$work/README.md"
cp "$project/docs/results/results.csv" "$work/results.csv"
"$python" - "$work/README.md" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
begin = text.index("<!-- results-headline:begin -->")
end = text.index("<!-- results-headline:end -->")
block = text[begin:end].replace("|", "| 9.999 |", 1)
open(path, "w").write(text[:begin] + block + text[end:])
PY
status=0
"$python" "$script" --check --results "$work/results.csv" --readme "$work/README.md" \
  2>"$work/err.txt" || status=$?
[[ $status -eq 1 ]] || fail "--check on a stale block gave status $status, not 1"
grep -q "does not match .*; run .*readme_headline.py" "$work/err.txt" ||
  fail "unclear --check message: $(cat "$work/err.txt")"
"$python" "$script" --results "$work/results.csv" --readme "$work/README.md" >/dev/null
"$python" "$script" --check --results "$work/results.csv" --readme "$work/README.md" >/dev/null ||
  fail "the rewritten copy does not pass --check"
# Outside the block the rewritten copy is the README (the block's lines are the script's).
diff <(sed '/results-headline:begin/,/results-headline:end/d' "$project/README.md") \
  <(sed '/results-headline:begin/,/results-headline:end/d' "$work/README.md") >/dev/null ||
  fail "the rewrite changed README.md outside its block"

# Synthetic results: digits with the classifier-aware rows (the headline picks the fastest point
# within 1 point of exact, and says which tables), fashion without any MADDNESS point within 1
# point; then results with neither task.
header="task,method,params,accuracy,exact_accuracy,time_ms,exact_time_ms,speedup,timed_rows,d,m"
{
  echo "$header"
  echo "digits,Exact,oneDNN,0.92,0.92,1.0,1.0,1,10000,64,10"
  echo "digits,MADDNESS,C=16,0.905,0.92,0.25,1.0,4,10000,64,10"
  echo "digits,MADDNESS,C=32,0.915,0.92,0.5,1.0,2,10000,64,10"
  echo "digits,MADDNESS-classifier,C=16,0.912,0.92,0.25,1.0,4,10000,64,10"
  echo "digits,MADDNESS,C=2,0.60,0.92,0.05,1.0,20,10000,64,10"
  echo "fashion,Exact,oneDNN,0.84,0.84,7.0,7.0,1,10000,784,10"
  echo "fashion,MADDNESS,C=64,0.82,0.84,0.7,7.0,10,10000,784,10"
} >"$work/synthetic.csv"
printf '# x\n\n<!-- results-headline:begin -->\n<!-- results-headline:end -->\n\nrest\n' \
  >"$work/small.md"
"$python" "$script" --results "$work/synthetic.csv" --readme "$work/small.md" >/dev/null
grep -q "| sklearn digits, 10000 x 64 times 64 x 10 | 0.920, 1.000 ms (oneDNN, row-major A) | 0.912 (C=16, classifier-aware tables) | \*\*4.0x\*\* | 0.600 (C=2, default tables) at 20.0x |" \
  "$work/small.md" || fail "wrong digits line: $(grep digits "$work/small.md")"
grep -q "| Fashion-MNIST, .* | none; the most accurate: 0.820 (C=64, default tables) | 10.0x |" \
  "$work/small.md" || fail "wrong fashion line: $(grep Fashion "$work/small.md")"
grep -q "predate the classifier-aware" "$work/small.md" &&
  fail "the note on missing classifier-aware rows is there although they are present"
grep -q "^rest$" "$work/small.md" || fail "the text after the block was lost"
echo "$header" >"$work/other.csv"
echo "ucr,MADDNESS,C=2,0.5,0.6,1,2,2,1000,10,10" >>"$work/other.csv"
"$python" "$script" --results "$work/other.csv" --readme "$work/small.md" >/dev/null
grep -q "no Fashion-MNIST or digits rows" "$work/small.md" || fail "no note for missing tasks"

# Errors: exit 1, the argument named.
expect_error() {
  local pattern=$1
  shift
  local status=0
  "$python" "$script" "$@" >/dev/null 2>"$work/err.txt" || status=$?
  [[ $status -eq 1 ]] || fail "expected status 1 from '$*', got $status"
  grep -q -- "$pattern" "$work/err.txt" || fail "'$*': no '$pattern' in: $(cat "$work/err.txt")"
}
expect_error "--results $work/none.csv: cannot read it" --results "$work/none.csv" \
  --readme "$work/small.md"
printf 'a,b\n1,2\n' >"$work/wrong.csv"
expect_error "--results $work/wrong.csv: no column task" --results "$work/wrong.csv" \
  --readme "$work/small.md"
printf '# no markers\n' >"$work/plain.md"
expect_error "--readme $work/plain.md: no <!-- results-headline:begin -->" \
  --results "$work/synthetic.csv" --readme "$work/plain.md"
grep -q "^# no markers$" "$work/plain.md" || fail "a failed run changed the README"
echo "readme_headline_test: passed"
