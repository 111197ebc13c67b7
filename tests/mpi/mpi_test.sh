#!/usr/bin/env bash
# End-to-end test of maddness-mpi on 1 to 4 ranks of this machine (--oversubscribe), and 17 for
# ranks without rows; with MADDNESS_SHARED_DATA set, also on UCR Coffee (a small training set).
#
#   bash tests/mpi/mpi_test.sh path/to/maddness-mpi path/to/maddness [path/to/mpiexec]
#
# Checks that the distributed apply writes exactly the bytes of the single-process
# `maddness apply` (one shared file, and the shards concatenated; also with odd N, N < ranks and
# N = 0), that the raw output agrees across rank counts, that distributed learning with one rank
# writes exactly the model file of `maddness train` and with 2 and 4 ranks a model about as
# accurate, and that bad inputs, also on one rank only, end every rank with status 1, a message
# naming the argument and no output file (nor a temporary one), without hanging.
set -euo pipefail

MADDNESS_MPI=${1:?usage: mpi_test.sh path/to/maddness-mpi path/to/maddness [mpiexec]}
MADDNESS=${2:?usage: mpi_test.sh path/to/maddness-mpi path/to/maddness [mpiexec]}
MPIEXEC=${3:-mpiexec}
PYTHON=/usr/bin/python3  # Debian's python3 with numpy

# CI runs as root, which Open MPI refuses unless told; oversubscription lets 4 ranks share 2 cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Waiting ranks yield the core instead of spinning, so that oversubscribed ranks make progress.
export OMPI_MCA_mpi_yield_when_idle=1
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-Haswell} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-512}

# $WORK, $OUT, pass, fail, recorded_ok, recorded_error.
source "$(dirname "${BASH_SOURCE[0]}")/../checks.sh"

# mpi RANKS ARGS...: runs maddness-mpi on RANKS ranks (at most 60 s: a hang is a failure);
# records stdout, stderr and the exit status in $WORK/{stdout,stderr,status}.
mpi() {
  local ranks=$1 status=0
  shift
  timeout 60 "$MPIEXEC" --oversubscribe -n "$ranks" "$MADDNESS_MPI" "$@" \
    >"$WORK/stdout" 2>"$WORK/stderr" </dev/null || status=$?
  echo "$status" >"$WORK/status"
}

# mpi_ok DESCRIPTION RANKS ARGS...: the run succeeds.
mpi_ok() {
  local what=$1
  shift
  mpi "$@"
  recorded_ok "$what"
}

# mpi_error DESCRIPTION TEXT RANKS ARGS...: the run fails with status 1 (not a timeout, not an
# abort), stderr contains TEXT exactly once (one message, from rank 0), and $OUT stays empty.
mpi_error() {
  local what=$1 text=$2
  shift 2
  mpi "$@"
  local count problem=""
  count=$(grep -cF -- "$text" "$WORK/stderr" || true)
  if [[ $count != 1 ]]; then
    problem="'$text' appears $count times in stderr: $(cat "$WORK/stderr")"
  fi
  recorded_error "$what" "$problem"
}

# same_bytes DESCRIPTION FILE1 FILE2
same_bytes() {
  if cmp -s "$2" "$3"; then pass; else fail "$1: $2 and $3 differ"; fi
}

# py DESCRIPTION CODE ARGS...: runs Python code that raises (exits nonzero) on failure.
py() {
  local what=$1 code=$2
  shift 2
  if "$PYTHON" -c "$code" "$@" 2>"$WORK/py_stderr"; then
    pass
  else
    fail "$what: $(cat "$WORK/py_stderr")"
  fi
}

# ---------------------------------------------------------------------------------------------
# Inputs: rows near a 4-dimensional subspace (MADDNESS is accurate on such data), odd sizes.
"$PYTHON" - "$WORK" <<'PYTHON'
import sys
import numpy as np

work = sys.argv[1]
rng = np.random.default_rng(7)
D, M = 24, 5
basis = rng.standard_normal((4, D)).astype(np.float32)


def rows(n):
    coefficients = rng.standard_normal((n, 4)).astype(np.float32)
    noise = rng.standard_normal((n, D)).astype(np.float32)
    return (coefficients @ basis + np.float32(0.1) * noise).astype(np.float32)


np.save(f"{work}/a_train.npy", rows(1001))
np.save(f"{work}/a_test.npy", rows(517))
np.save(f"{work}/a_3.npy", rows(3))
np.save(f"{work}/a_0.npy", np.zeros((0, D), np.float32))
np.save(f"{work}/a_15.npy", rows(15))
np.save(f"{work}/a_16.npy", rows(16))
np.save(f"{work}/b.npy", rng.standard_normal((D, M)).astype(np.float32))
np.save(f"{work}/a_f64.npy", rows(50).astype(np.float64))
np.save(f"{work}/a_fortran.npy", np.asfortranarray(rows(50)))
np.save(f"{work}/a_wide.npy", np.zeros((10, D + 1), np.float32))
nan_last = rows(517)
nan_last[516, 3] = np.nan  # in the last rank's share only
np.save(f"{work}/a_nan.npy", nan_last)
PYTHON

# Single-process references. maddness-mpi learns on contiguous column ranges and, over several
# processes, resolves --objective auto without a held-out comparison: the references name both.
SINGLE=(--grouping contiguous -t 1 -q)
"$MADDNESS" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" -c 8 --objective input "${SINGLE[@]}" \
  -o "$WORK/m.maddness"
"$MADDNESS" train --a "$WORK/a_train.npy" -c 8 --objective input "${SINGLE[@]}" \
  -o "$WORK/encoder.maddness"
for name in a_test a_3 a_0; do
  "$MADDNESS" apply "$WORK/m.maddness" --a "$WORK/$name.npy" -t 1 -o "$WORK/ref_$name.npy"
done

# ---------------------------------------------------------------------------------------------
# apply: one shared file and shards, bit for bit.
CONCAT='
import sys
import numpy as np
reference, parts = sys.argv[1], sys.argv[2:]
expected = np.load(reference)
got = np.concatenate([np.load(p) for p in parts])
assert got.dtype == expected.dtype and got.shape == expected.shape, (got.shape, expected.shape)
assert got.tobytes() == expected.tobytes(), "values differ"
'
for ranks in 1 2 4; do
  mpi_ok "apply on $ranks ranks" "$ranks" apply "$WORK/m.maddness" --a "$WORK/a_test.npy" \
    -o "$WORK/y_$ranks.npy"
  same_bytes "apply on $ranks ranks = maddness apply" "$WORK/ref_a_test.npy" "$WORK/y_$ranks.npy"
  mpi_ok "apply --shards on $ranks ranks" "$ranks" apply "$WORK/m.maddness" --a \
    "$WORK/a_test.npy" -o "$WORK/s$ranks.npy" --shards --threads 2
  shards=("$WORK"/s"$ranks"-*-of-*.npy)
  if [[ ${#shards[@]} == "$ranks" ]]; then
    pass
  else
    fail "$ranks ranks wrote ${#shards[@]} shards"
  fi
  py "shards of $ranks ranks = maddness apply" "$CONCAT" "$WORK/ref_a_test.npy" "${shards[@]}"
done
# N < ranks (ranks 3 has no rows) and N = 0 (no rank has rows).
mpi_ok "apply N=3 on 4 ranks" 4 apply "$WORK/m.maddness" --a "$WORK/a_3.npy" -o "$WORK/y3.npy"
same_bytes "apply N=3 on 4 ranks = maddness apply" "$WORK/ref_a_3.npy" "$WORK/y3.npy"
mpi_ok "apply N=0 on 2 ranks" 2 apply "$WORK/m.maddness" --a "$WORK/a_0.npy" -o "$WORK/y0.npy"
same_bytes "apply N=0 on 2 ranks = maddness apply" "$WORK/ref_a_0.npy" "$WORK/y0.npy"
mpi_ok "apply --shards N=3 on 4 ranks" 4 apply "$WORK/m.maddness" --a "$WORK/a_3.npy" \
  -o "$WORK/t3.npy" --shards
py "shards of N=3 on 4 ranks = maddness apply" "$CONCAT" "$WORK/ref_a_3.npy" \
  "$WORK"/t3-*-of-00004.npy

# --raw: uint16 sums, the same on every rank count, an affine image of the float32 outputs.
for ranks in 1 4; do
  mpi_ok "apply --raw on $ranks ranks" "$ranks" apply "$WORK/m.maddness" --a "$WORK/a_test.npy" \
    -o "$WORK/raw_$ranks.npy" --raw --timing
done
same_bytes "apply --raw on 4 ranks = on 1 rank" "$WORK/raw_1.npy" "$WORK/raw_4.npy"
py "--timing prints one JSON line" '
import json, sys
line = json.loads(open(sys.argv[1]).read())
assert line["ranks"] == 4 and line["n"] == 517 and line["output"] == "raw", line
assert all(line[k] >= 0 for k in ("read_s", "compute_s", "write_s")), line
' "$WORK/stdout"
py "raw sums map to the float32 outputs" '
import sys
import numpy as np
raw, y = np.load(sys.argv[1]), np.load(sys.argv[2])
assert raw.dtype == np.uint16 and raw.shape == y.shape, (raw.dtype, raw.shape)
for m in range(y.shape[1]):
    slope, intercept = np.polyfit(raw[:, m].astype(np.float64), y[:, m].astype(np.float64), 1)
    fitted = slope * raw[:, m] + intercept
    assert np.abs(fitted - y[:, m]).max() <= 1e-4 * np.abs(y[:, m]).max(), m
' "$WORK/raw_1.npy" "$WORK/ref_a_test.npy"

# ---------------------------------------------------------------------------------------------
# train: one rank reproduces `maddness train` exactly; 2 and 4 ranks are close in accuracy.
mpi_ok "train on 1 rank" 1 train --a "$WORK/a_train.npy" --b "$WORK/b.npy" -c 8 -q \
  --objective input -o "$WORK/t1.maddness"
same_bytes "train on 1 rank = maddness train" "$WORK/m.maddness" "$WORK/t1.maddness"
mpi_ok "train on 1 rank, encoder only" 1 train --a "$WORK/a_train.npy" -c 8 -q \
  --objective input -o "$WORK/e1.maddness"
same_bytes "encoder on 1 rank = maddness train" "$WORK/encoder.maddness" "$WORK/e1.maddness"
"$MADDNESS" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" -c 6 "${SINGLE[@]}" \
  --objective product --variant pq --max-train-rows 700 --seed 5 -o "$WORK/mp.maddness"
mpi_ok "train on 1 rank, pq, product, sampled" 1 train --a "$WORK/a_train.npy" --b \
  "$WORK/b.npy" -c 6 -q --objective product --variant pq --max-train-rows 700 --seed 5 \
  -o "$WORK/tp.maddness"
same_bytes "pq/product/sampled on 1 rank = maddness train" "$WORK/mp.maddness" "$WORK/tp.maddness"

NMSE='
import sys
import numpy as np
a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
exact = a @ b
def nmse(path):
    return float(((np.load(path) - exact) ** 2).sum() / (exact**2).sum())
single = nmse(sys.argv[3])
for path in sys.argv[4:]:
    error = nmse(path)
    assert error < 0.1, (path, error)
    assert abs(error - single) <= 0.25 * single + 0.002, (path, error, single)
'
for ranks in 2 4; do
  mpi_ok "train on $ranks ranks" "$ranks" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" -c 8 \
    -q --objective input -o "$WORK/t$ranks.maddness"
  "$MADDNESS" apply "$WORK/t$ranks.maddness" --a "$WORK/a_test.npy" -o "$WORK/yt$ranks.npy"
done
mpi_ok "train on 4 ranks, sampled" 4 train --a "$WORK/a_train.npy" --b "$WORK/b.npy" -c 8 -q \
  --objective input --max-train-rows 600 -o "$WORK/t4s.maddness"
"$MADDNESS" apply "$WORK/t4s.maddness" --a "$WORK/a_test.npy" -o "$WORK/yt4s.npy"
py "2 and 4 ranks learn about as well as one" "$NMSE" "$WORK/a_test.npy" "$WORK/b.npy" \
  "$WORK/ref_a_test.npy" "$WORK/yt2.npy" "$WORK/yt4.npy" "$WORK/yt4s.npy"
"$MADDNESS" info --json "$WORK/t4.maddness" >"$WORK/info.json"
py "the 4-rank model counts every training row" '
import json, sys
info = json.load(open(sys.argv[1]))
assert info["n_train"] == 1001 and info["codebooks"] == 8 and info["m"] == 5, info
' "$WORK/info.json"

# Small training sets (too few rows for the held-out choices): with the default flags of both
# programs, one rank writes the very file of `maddness train` (the paper's MADDNESS: contiguous
# columns, objective input, global table scale), with and without B.
"$PYTHON" -c '
import sys
import numpy as np
a = np.load(sys.argv[1])[:40]
np.save(sys.argv[2], a)
' "$WORK/a_train.npy" "$WORK/a_40.npy"
for small in a_16 a_40; do
  "$MADDNESS" train --a "$WORK/$small.npy" --b "$WORK/b.npy" -c 4 -q -o "$WORK/m_$small.maddness"
  mpi_ok "train on $small, 1 rank, default flags" 1 train --a "$WORK/$small.npy" --b \
    "$WORK/b.npy" -c 4 -q -o "$WORK/t_$small.maddness"
  same_bytes "$small on 1 rank = maddness train (default flags)" "$WORK/m_$small.maddness" \
    "$WORK/t_$small.maddness"
  "$MADDNESS" train --a "$WORK/$small.npy" -c 4 -q -o "$WORK/me_$small.maddness"
  mpi_ok "train on $small, 1 rank, encoder only" 1 train --a "$WORK/$small.npy" -c 4 -q \
    -o "$WORK/te_$small.maddness"
  same_bytes "$small encoder on 1 rank = maddness train" "$WORK/me_$small.maddness" \
    "$WORK/te_$small.maddness"
done
# A real small set: UCR Coffee (28 training series of length 286), B = A_train^T, C = 8.
COFFEE=${MADDNESS_SHARED_DATA:-}/ucr/Coffee/A_train.npy
if [[ -n ${MADDNESS_SHARED_DATA:-} && -f $COFFEE ]]; then
  "$PYTHON" -c '
import sys
import numpy as np
np.save(sys.argv[2], np.ascontiguousarray(np.load(sys.argv[1]).astype(np.float32).T))
' "$COFFEE" "$WORK/coffee_b.npy"
  "$MADDNESS" train --a "$COFFEE" --b "$WORK/coffee_b.npy" -c 8 -q -o "$WORK/m_coffee.maddness"
  mpi_ok "train on Coffee, 1 rank" 1 train --a "$COFFEE" --b "$WORK/coffee_b.npy" -c 8 -q \
    -o "$WORK/t_coffee.maddness"
  same_bytes "Coffee on 1 rank = maddness train" "$WORK/m_coffee.maddness" \
    "$WORK/t_coffee.maddness"
else
  echo "skipped: UCR Coffee (no shared data at '${MADDNESS_SHARED_DATA:-}')" >&2
fi

# Ranks without rows (issue 17): more ranks than rows, and more ranks than sampled rows. Every
# rank must reduce statistics of the same length (the product objective's features included).
for ranks in 1 2 3 17; do
  mpi_ok "train on 16 rows, $ranks ranks" "$ranks" train --a "$WORK/a_16.npy" --b "$WORK/b.npy" \
    -c 4 -q -o "$WORK/t16_$ranks.maddness"
  "$MADDNESS" info --json "$WORK/t16_$ranks.maddness" >"$WORK/info.json" 2>&1 || true
  py "the model of 16 rows on $ranks ranks" '
import json, sys
info = json.load(open(sys.argv[1]))
assert info["n_train"] == 16 and info["codebooks"] == 4 and info["m"] == 5, info
' "$WORK/info.json"
done
mpi_ok "train, 16 sampled rows on 17 ranks" 17 train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
  -c 4 -q --max-train-rows 16 -o "$WORK/t17s.maddness"
mpi_ok "train, encoder only, 16 rows on 17 ranks" 17 train --a "$WORK/a_16.npy" -c 4 -q \
  --objective input -o "$WORK/e16_17.maddness"
mpi_error "train --max-train-rows 1" "--max-train-rows 1" 2 train --a "$WORK/a_train.npy" \
  --b "$WORK/b.npy" --max-train-rows 1 -o "$OUT/m.maddness"

# Outputs (issue 17): a symbolic link is followed; a FIFO is refused (MPI-IO writes at offsets),
# and stays a FIFO.
echo old >"$WORK/behind_link.npy"
ln -s behind_link.npy "$WORK/link.npy"
mpi_ok "apply -o a symbolic link" 2 apply "$WORK/m.maddness" --a "$WORK/a_test.npy" \
  -o "$WORK/link.npy"
if [[ -L $WORK/link.npy ]]; then pass; else fail "apply -o a symbolic link: the link is gone"; fi
same_bytes "apply -o a symbolic link: written through it" "$WORK/ref_a_test.npy" \
  "$WORK/behind_link.npy"
mkfifo "$WORK/fifo"
mpi_error "apply -o a FIFO" "FIFO" 2 apply "$WORK/m.maddness" --a "$WORK/a_test.npy" \
  -o "$WORK/fifo"
if [[ -p $WORK/fifo ]]; then pass; else fail "apply -o a FIFO: no longer a FIFO"; fi
if [[ -z $(find "$WORK" -maxdepth 1 -name '*.tmp-*') ]]; then
  pass
else
  fail "temporary files left: $(find "$WORK" -maxdepth 1 -name '*.tmp-*')"
fi

# ---------------------------------------------------------------------------------------------
# Errors: status 1, one message naming the argument, no file left, no hang.
mpi_error "missing A" "--a ($WORK/missing.npy)" 2 apply "$WORK/m.maddness" \
  --a "$WORK/missing.npy" -o "$OUT/y.npy"
mpi_error "model without tables" "no lookup tables" 2 apply "$WORK/encoder.maddness" \
  --a "$WORK/a_test.npy" -o "$OUT/y.npy"
mpi_error "A of the wrong width" "has 25 columns" 4 apply "$WORK/m.maddness" \
  --a "$WORK/a_wide.npy" -o "$OUT/y.npy"
mpi_error "float64 A" "needs float32 in C order" 2 apply "$WORK/m.maddness" \
  --a "$WORK/a_f64.npy" -o "$OUT/y.npy"
mpi_error "Fortran-order A" "in Fortran order" 2 apply "$WORK/m.maddness" \
  --a "$WORK/a_fortran.npy" -o "$OUT/y.npy"
mpi_error "NaN on the last rank only" "rank 3 of 4: --a ($WORK/a_nan.npy): entry [516, 3]" 4 \
  apply "$WORK/m.maddness" --a "$WORK/a_nan.npy" -o "$OUT/y.npy"
mpi_error "NaN on the last rank only, shards" "entry [516, 3]" 4 \
  apply "$WORK/m.maddness" --a "$WORK/a_nan.npy" -o "$OUT/y.npy" --shards
# A shard that cannot be written (its name is taken by a folder): the other ranks remove theirs.
mkdir -p "$WORK/blocked/y-00001-of-00002.npy"
mpi 2 apply "$WORK/m.maddness" --a "$WORK/a_test.npy" -o "$WORK/blocked/y.npy" --shards
if [[ $(cat "$WORK/status") == 1 && $(grep -c "rank 1 of 2" "$WORK/stderr") == 1 &&
      $(ls -A "$WORK/blocked") == "y-00001-of-00002.npy" ]]; then
  pass
else
  fail "failed shard: status $(cat "$WORK/status"), files $(ls -A "$WORK/blocked")," \
    "stderr: $(cat "$WORK/stderr")"
fi
mpi_error "output in a missing folder" "-o $WORK/nowhere/y.npy" 2 apply "$WORK/m.maddness" \
  --a "$WORK/a_test.npy" -o "$WORK/nowhere/y.npy"
mpi_error "negative threads" "--threads is -1; it must be >= 0" 2 apply "$WORK/m.maddness" \
  --a "$WORK/a_test.npy" -o "$OUT/y.npy" --threads -1
mpi_error "train on too few rows" "it needs at least 16" 2 train --a "$WORK/a_15.npy" \
  -o "$OUT/m.maddness"
mpi_error "train with C > D" \
  "--codebooks is 25; it must be between 1 and min(D, 256) where A_train has D = 24" 2 train \
  --a "$WORK/a_train.npy" -c 25 -o "$OUT/m.maddness"
mpi_error "train with a B of the wrong height" "--b ($WORK/a_test.npy) has 517 rows" 2 train \
  --a "$WORK/a_train.npy" --b "$WORK/a_test.npy" -o "$OUT/m.maddness"
mpi_error "singular ridge system" "singular" 4 train --a "$WORK/a_train.npy" -c 16 --lambda 0 \
  -q -o "$OUT/m.maddness"
mpi 2 apply "$WORK/m.maddness" --a "$WORK/a_test.npy" -o "$OUT/y.npy" --bogus
if [[ $(cat "$WORK/status") == 2 && $(grep -c "bogus" "$WORK/stderr") == 1 ]]; then
  pass
else
  fail "unknown option: status $(cat "$WORK/status"), stderr: $(cat "$WORK/stderr")"
fi

echo "mpi_test: $checks checks, $failures failures"
[[ $failures == 0 ]]
