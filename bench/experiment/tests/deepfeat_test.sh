#!/usr/bin/env bash
# ctest experiment_deepfeat: the deep-feature benchmark end to end on a tiny scale:
# scripts/make_deepfeat.py --tiny (a tiny CNN, one epoch on 2000 Fashion-MNIST images), then
# `maddness-experiment --task deepfeat --quick` on its files, checked by check_results.py; and the
# errors for a missing or inconsistent folder. Skipped (77) without python3-torch or
# dataset-fashion-mnist.
# Usage: deepfeat_test.sh MADDNESS_EXPERIMENT_BINARY PROJECT_DIR WORK_DIR
set -euo pipefail
experiment=$1
project=$2
work=$3
python=/usr/bin/python3
fashion=/usr/share/datasets/fashion-mnist
fail() { echo "deepfeat_test: $*" >&2; exit 1; }
if ! "$python" -c "import torch" 2>/dev/null; then
  echo "deepfeat_test: python3-torch is not installed; skipped"
  exit 77
fi
if [[ ! -f $fashion/train-images-idx3-ubyte.gz ]]; then
  echo "deepfeat_test: dataset-fashion-mnist is not installed; skipped"
  exit 77
fi
rm -rf "$work"
mkdir -p "$work"

# A missing folder: the error names the script that makes it.
status=0
"$experiment" --task deepfeat --deepfeat-dir "$work/none" --out "$work/bad" \
  2>"$work/err.txt" || status=$?
[[ $status -eq 1 ]] || fail "a missing --deepfeat-dir gave status $status, not 1"
grep -q "task deepfeat: $work/none/feat_train.npy not found; make it with .*scripts/make_deepfeat.py" \
  "$work/err.txt" || fail "no helpful message for a missing folder: $(cat "$work/err.txt")"
# ... also through MADDNESS_DEEPFEAT, the script's and the program's shared default.
status=0
MADDNESS_DEEPFEAT="$work/none2" "$experiment" --task deepfeat --out "$work/bad" \
  2>"$work/err.txt" || status=$?
[[ $status -eq 1 ]] && grep -q "$work/none2/feat_train.npy not found" "$work/err.txt" ||
  fail "MADDNESS_DEEPFEAT is not the default folder: $(cat "$work/err.txt")"

# The tiny benchmark, twice with the same seed: the same files (deterministic).
MADDNESS_DEEPFEAT="$work/deepfeat" "$python" "$project/scripts/make_deepfeat.py" --tiny --quiet ||
  fail "make_deepfeat.py --tiny failed"
"$python" "$project/scripts/make_deepfeat.py" --tiny --quiet --out "$work/again" ||
  fail "make_deepfeat.py --tiny --out failed"
"$python" - "$work/deepfeat" "$work/again" <<'PY' || fail "the two runs differ or the files are wrong"
import json, sys
import numpy as np
first, second = sys.argv[1], sys.argv[2]
names = ["feat_train", "feat_test", "fc_weight", "fc_bias", "y_train", "y_test",
         "conv_train", "conv_test", "conv_weight"]
arrays = {n: np.load(f"{first}/{n}.npy") for n in names}
for n in names:
    assert np.array_equal(arrays[n], np.load(f"{second}/{n}.npy")), n
meta = json.load(open(f"{first}/meta.json"))
d, m = arrays["fc_weight"].shape
assert arrays["feat_train"].shape == (meta["feature_train_rows"], d) and d == meta["feature_dim"]
assert arrays["feat_test"].shape == (meta["test_images"], d)
assert arrays["fc_bias"].shape == (m,) and m == 10
assert arrays["y_train"].shape == (len(arrays["feat_train"]),)
assert arrays["y_test"].shape == (len(arrays["feat_test"]),)
assert arrays["conv_weight"].shape == (meta["conv_dim"], meta["conv_outputs"])
assert arrays["conv_train"].shape == (meta["conv_train_rows"], meta["conv_dim"])
assert arrays["conv_test"].shape == (meta["conv_test_rows"], meta["conv_dim"])
# The features reproduce the network's accuracy through the saved last layer.
logits = arrays["feat_test"] @ arrays["fc_weight"] + arrays["fc_bias"]
accuracy = float(np.mean(logits.argmax(1) == arrays["y_test"]))
assert abs(accuracy - meta["cnn_test_accuracy"]) < 1e-3, (accuracy, meta["cnn_test_accuracy"])
assert accuracy > 0.15, accuracy  # one epoch on 2000 images: above chance (0.1)
PY

# The experiment on it.
"$experiment" --task deepfeat --quick --repeats 3 --deepfeat-dir "$work/deepfeat" \
  --out "$work/results" 2>"$work/err.txt" || fail "experiment failed: $(tail -5 "$work/err.txt")"
"$python" "$project/bench/experiment/tests/check_results.py" "$work/results" deepfeat/classifier \
  deepfeat/conv

# A last layer whose shape does not match the features.
cp -r "$work/deepfeat" "$work/broken"
"$python" -c "import numpy as np; np.save('$work/broken/fc_weight.npy', np.zeros((5, 10), np.float32))"
status=0
"$experiment" --task deepfeat --deepfeat-dir "$work/broken" --out "$work/bad" \
  2>"$work/err.txt" || status=$?
[[ $status -eq 1 ]] && grep -q "feat_train.npy is .* but must be .* x 5" "$work/err.txt" ||
  fail "no error for mismatched shapes: $(cat "$work/err.txt")"
echo "deepfeat_test: passed"
