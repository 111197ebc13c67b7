#!/usr/bin/env bash
# ctest experiment_quick: `maddness-experiment --quick` on the shared data (whatever of it is
# present), its CSV/JSON checked by check_results.py; a user task from .npy files; bad arguments
# and missing data; and, when the maddness program is given, that `maddness experiment` runs it.
# Usage: quick_test.sh MADDNESS_EXPERIMENT_BINARY SHARED_DATA_DIR WORK_DIR [MADDNESS_BINARY]
set -euo pipefail
experiment=$1
data=$2
work=$3
maddness=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
rm -rf "$work"
mkdir -p "$work"

fail() { echo "quick_test: $*" >&2; exit 1; }

# Expects failure (status 1) with `pattern` in the message.
expect_error() {
  local pattern=$1
  shift
  local status=0
  "$experiment" "$@" >"$work/out.txt" 2>"$work/err.txt" || status=$?
  [[ $status -eq 1 ]] || fail "expected status 1 from 'experiment $*', got $status"
  grep -q -- "$pattern" "$work/err.txt" ||
    fail "'experiment $*': no '$pattern' in: $(cat "$work/err.txt")"
}

# Bad arguments and missing data.
expect_error "--task nope: unknown task" --task nope --out "$work/bad"
expect_error "--threads is -1" --task digits --threads -1 --out "$work/bad"
expect_error "--repeats 0" --task digits --repeats 0 --out "$work/bad"
expect_error "--task user needs --a-train" --task user --out "$work/bad"
expect_error "task digits: $work/none/sklearn_digits/A_train.npy not found" \
  --task digits --data "$work/none" --out "$work/bad"
expect_error "--train-labels are for --task user" --task digits --labels x.npy --out "$work/bad"
touch "$work/file"
expect_error "--out $work/file: exists and is not a folder" --task digits --out "$work/file"

# `maddness experiment ARGS` runs maddness-experiment ARGS: same messages, same status; its help
# is the suite's.
if [[ -n $maddness ]]; then
  status=0
  "$maddness" experiment --task nope --out "$work/bad" 2>"$work/err.txt" || status=$?
  [[ $status -eq 1 ]] || fail "'maddness experiment --task nope' gave status $status, not 1"
  grep -q "maddness-experiment: error: --task nope: unknown task" "$work/err.txt" ||
    fail "'maddness experiment' did not run maddness-experiment: $(cat "$work/err.txt")"
  "$maddness" experiment --help >"$work/out.txt" || fail "'maddness experiment --help' failed"
  grep -q -- "--deepfeat-dir" "$work/out.txt" || fail "'maddness experiment --help': no options"
  status=0
  "$maddness" experiment --frobnicate >/dev/null 2>&1 || status=$?
  [[ $status -eq 2 ]] || fail "'maddness experiment --frobnicate' gave status $status, not 2"
fi

# A missing dataset in a full run is skipped with a message (fashion too: --fashion-dir).
"$experiment" --task all --quick --data "$work/none" --fashion-dir "$work/none" \
  --deepfeat-dir "$work/none" --out "$work/empty" 2>"$work/err.txt" ||
  fail "a full run without data failed"
for task in imgfilter digits fashion ucr deepfeat; do
  grep -q "skipping task $task:" "$work/err.txt" || fail "no skip message for $task"
done

# A user task with labels.
"$python" - "$work" <<'PY'
import sys
import numpy as np
work = sys.argv[1]
rng = np.random.default_rng(0)
centers = rng.normal(size=(4, 24)).astype(np.float32) * 3
train_labels = rng.integers(0, 4, 800)
test_labels = rng.integers(0, 4, 300)
a_train = (centers[train_labels] + rng.normal(size=(800, 24))).astype(np.float32)
a_test = (centers[test_labels] + rng.normal(size=(300, 24))).astype(np.float32)
np.save(work + "/a_train.npy", a_train)
np.save(work + "/a_test.npy", a_test)
np.save(work + "/b.npy", centers.T.copy())
np.save(work + "/labels.npy", test_labels.astype(np.int32))
np.save(work + "/train_labels.npy", train_labels.astype(np.int64))
np.save(work + "/short_labels.npy", train_labels[:-1].astype(np.int64))
PY
"$experiment" --task user --quick --name blobs --a-train "$work/a_train.npy" \
  --a-test "$work/a_test.npy" --b "$work/b.npy" --labels "$work/labels.npy" --time-rows 2000 \
  --train-labels "$work/train_labels.npy" \
  --out "$work/user" 2>"$work/err.txt" || fail "user task failed: $(cat "$work/err.txt")"
"$python" "$here/check_results.py" "$work/user" blobs --classifier-task blobs
# Without --train-labels, no classifier-aware rows (check_results counts the rows).
"$experiment" --task user --quick --name blobs --a-train "$work/a_train.npy" \
  --a-test "$work/a_test.npy" --b "$work/b.npy" --labels "$work/labels.npy" \
  --out "$work/user_plain" 2>"$work/err.txt" || fail "user task failed: $(cat "$work/err.txt")"
"$python" "$here/check_results.py" "$work/user_plain" blobs
expect_error "--train-labels $work/train_labels.npy: needs --labels" --task user \
  --a-train "$work/a_train.npy" --a-test "$work/a_test.npy" --b "$work/b.npy" \
  --train-labels "$work/train_labels.npy" --out "$work/bad"
expect_error "--train-labels ($work/short_labels.npy)" --task user --a-train "$work/a_train.npy" \
  --a-test "$work/a_test.npy" --b "$work/b.npy" --labels "$work/labels.npy" \
  --train-labels "$work/short_labels.npy" --out "$work/bad"
grep -q "A_test repeated to at least 2000 rows" "$work/user/results.csv" || fail "no timing note"

# The quick suite on whatever data is present.
tasks=()
if [[ -d $data/imgfilter ]]; then
  tasks+=(imgfilter/B_rgb imgfilter/B_learned_mobilenetv2_conv1)
fi
if [[ -d $data/sklearn_digits ]]; then tasks+=(digits); fi
if [[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]]; then tasks+=(fashion); fi
if [[ -d $data/ucr ]]; then
  tasks+=("ucr/*" ucr)
fi
if [[ ${#tasks[@]} -eq 0 ]]; then
  echo "quick_test: no datasets under $data; only the argument checks ran"
  exit 0
fi
# (The deep-feature task has its own test, experiment_deepfeat.)
"$experiment" --task all --quick --repeats 3 --data "$data" --out "$work/quick" \
  --deepfeat-dir "$work/none" \
  2>"$work/err.txt" || fail "the quick suite failed: $(tail -5 "$work/err.txt")"
"$python" "$here/check_results.py" "$work/quick" "${tasks[@]}"
