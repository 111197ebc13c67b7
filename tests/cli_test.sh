#!/usr/bin/env bash
# End-to-end test of the `maddness` command-line program.
#
#   bash tests/cli_test.sh path/to/maddness [path/to/shared/data]
#
# The core part makes its own small inputs (with perl, which every Debian system has) and checks
# that train, set-b, apply, encode, info and eval work and agree with each other, and that every
# kind of bad input fails cleanly: exit status 1, a message on stderr naming the argument, and no
# output file left behind (nor a temporary one). When the shared data folder is present, eval also
# runs on the real sklearn_digits and imgfilter sets and must meet the issue's accuracy bounds.
set -euo pipefail

MADDNESS=${1:?usage: cli_test.sh path/to/maddness [shared-data-dir]}
SHARED_DATA=${2:-}
PYTHON=/usr/bin/python3  # Debian's python3 (json module); only used when present
# Whether the program was built with MADDNESS_BUILD_EXPERIMENTS (bench, demo, experiment): ctest
# says so (1 or 0); run by hand, the program is asked.
if [[ -z ${MADDNESS_WITH_EXPERIMENTS:-} ]]; then
  MADDNESS_WITH_EXPERIMENTS=0
  if "$MADDNESS" --help | grep -q '^ *bench '; then MADDNESS_WITH_EXPERIMENTS=1; fi
fi
WITH_EXPERIMENTS=$MADDNESS_WITH_EXPERIMENTS

# $WORK, $OUT, pass, fail, recorded_ok, recorded_error.
source "$(dirname "${BASH_SOURCE[0]}")/checks.sh"

# ---------------------------------------------------------------------------------------------
# Inputs, written as .npy files by a small perl program.
#   npy.pl matrix PATH DTYPE ROWS COLS SEED [NAN_INDEX]   pseudo-random values in about [-2, 2]
#   npy.pl labels PATH COUNT CLASSES SEED                int32 labels in [0, CLASSES)
#   npy.pl vector PATH COUNT SEED                        float32 vector
#   npy.pl truncated PATH ROWS COLS                      a float32 header announcing more data
#   npy.pl special PATH ROWS COLS KIND                   float32; KIND: inf, -inf (one such
#     value in row 3, column 5 or the last column), const (every value 1.5), dupcols (every
#     column the same), header (only a header announcing ROWS x COLS float32)
# DTYPE is one of <f4 <f8 <i4 <u2.
cat >"$WORK/npy.pl" <<'PERL'
use strict;
use warnings;

my %pack_code = ('<f4' => 'f<', '<f8' => 'd<', '<i4' => 'l<', '<u2' => 'v');
my $state;
sub next_random {  # a 32-bit linear congruential generator, uniform in [0, 1)
  $state = ($state * 1664525 + 1013904223) % 4294967296;
  return $state / 4294967296;
}
sub write_npy {
  my ($path, $descr, $shape, $data) = @_;
  my $header = "{'descr': '$descr', 'fortran_order': False, 'shape': $shape, }";
  my $padding = 64 - (10 + length($header) + 1) % 64;
  $padding = 0 if $padding == 64;
  $header .= (' ' x $padding) . "\n";
  open(my $file, '>:raw', $path) or die "$path: $!";
  print $file "\x93NUMPY\x01\x00", pack('v', length($header)), $header, $data;
  close($file) or die "$path: $!";
}

my $mode = shift @ARGV;
if ($mode eq 'matrix') {
  my ($path, $descr, $rows, $cols, $seed, $nan_index) = @ARGV;
  $state = $seed;
  my $data = '';
  for my $r (0 .. $rows - 1) {
    for my $c (0 .. $cols - 1) {
      # Columns of different scales, correlated with their neighbours, plus noise.
      my $value = sin(0.37 * $r + 1.3 * $c) * (1 + $c % 3) + next_random() - 0.5;
      $value = int(100 * $value + 300) if $descr eq '<u2' or $descr eq '<i4';
      my $index = $r * $cols + $c;
      if (defined $nan_index and $index == $nan_index) {
        $data .= pack('V', 0x7fc00000);  # float32 quiet NaN
      } else {
        $data .= pack($pack_code{$descr}, $value);
      }
    }
  }
  write_npy($path, $descr, "($rows, $cols)", $data);
} elsif ($mode eq 'labels') {
  my ($path, $count, $classes, $seed) = @ARGV;
  $state = $seed;
  my $data = join('', map { pack('l<', int(next_random() * $classes)) } 1 .. $count);
  write_npy($path, '<i4', "($count,)", $data);
} elsif ($mode eq 'vector') {
  my ($path, $count, $seed) = @ARGV;
  $state = $seed;
  my $data = join('', map { pack('f<', next_random() - 0.5) } 1 .. $count);
  write_npy($path, '<f4', "($count,)", $data);
} elsif ($mode eq 'truncated') {
  my ($path, $rows, $cols) = @ARGV;
  write_npy($path, '<f4', "($rows, $cols)", pack('f<', 1.0) x ($rows * $cols - 1));
} elsif ($mode eq 'special') {
  my ($path, $rows, $cols, $kind) = @ARGV;
  my $data = '';
  if ($kind ne 'header') {
    for my $r (0 .. $rows - 1) {
      for my $c (0 .. $cols - 1) {
        my $value = sin(0.37 * $r + 1.3 * $c) * (1 + $c % 3);
        $value = sin(0.37 * $r) if $kind eq 'dupcols';
        $value = 1.5 if $kind eq 'const';
        if (($kind eq 'inf' or $kind eq '-inf') and $r == 3 and $c == ($cols > 5 ? 5 : $cols - 1)) {
          $data .= pack('V', $kind eq 'inf' ? 0x7f800000 : 0xff800000);
        } else {
          $data .= pack('f<', $value);
        }
      }
    }
  }
  write_npy($path, '<f4', "($rows, $cols)", $data);
} else {
  die "unknown mode $mode";
}
PERL
npy() { perl "$WORK/npy.pl" "$@"; }

# Prints the header dict of an .npy file.
npy_header() {
  perl -e 'open(my $f, "<:raw", $ARGV[0]) or die; read($f, my $magic, 10);
           my $len = unpack("v", substr($magic, 8, 2)); read($f, my $h, $len); print $h' "$1"
}

# Small problem: D = 12 columns, M = 3 outputs, C = 4 codebooks.
D=12
npy matrix "$WORK/a_train.npy" '<f4' 600 $D 1
npy matrix "$WORK/a_test.npy" '<f4' 100 $D 2
npy matrix "$WORK/b.npy" '<f4' $D 3 3
npy matrix "$WORK/b_short.npy" '<f4' 11 3 3
npy vector "$WORK/bias.npy" 3 4
npy vector "$WORK/bias_long.npy" 4 4
npy labels "$WORK/labels.npy" 100 3 5
npy labels "$WORK/labels_short.npy" 99 3 5
npy labels "$WORK/labels_big.npy" 100 7 5
npy labels "$WORK/labels_train.npy" 600 3 6
npy matrix "$WORK/a_train_f64.npy" '<f8' 600 $D 1
npy matrix "$WORK/a_test_i32.npy" '<i4' 100 $D 2
npy matrix "$WORK/a_u16.npy" '<u2' 100 $D 2
npy matrix "$WORK/a_wide.npy" '<f4' 100 $((D + 1)) 2
npy matrix "$WORK/a_nan.npy" '<f4' 100 $D 2 $((37 * D + 5))
npy matrix "$WORK/a_train_nan.npy" '<f4' 600 $D 1 $((599 * D + 11))
npy vector "$WORK/a_1d.npy" $D 6
npy truncated "$WORK/a_truncated.npy" 100 $D

# ---------------------------------------------------------------------------------------------
# Helpers.

# Runs the program; records stdout, stderr and the exit status in $WORK/{stdout,stderr,status}.
run() {
  local status=0
  "$MADDNESS" "$@" >"$WORK/stdout" 2>"$WORK/stderr" || status=$?
  echo "$status" >"$WORK/status"
  return 0
}

# expect_ok DESCRIPTION ARGS...: the command succeeds.
expect_ok() {
  local what=$1
  shift
  run "$@"
  recorded_ok "$what"
}

# expect_error DESCRIPTION ARGUMENT_NAME ARGS...: the command fails with status 1, names
# ARGUMENT_NAME on stderr, and leaves $OUT empty.
expect_error() {
  local what=$1 argument=$2
  shift 2
  run "$@"
  local problem=""
  if ! grep -qF -- "$argument" "$WORK/stderr"; then
    problem="the message does not name $argument: $(cat "$WORK/stderr")"
  fi
  recorded_error "$what" "$problem"
  rm -rf "${OUT:?}"/*
}

# json_check DESCRIPTION PYTHON_EXPRESSION: $WORK/stdout is exactly one JSON object `d` for which
# the expression is true. Without Debian's python3, checks only that stdout is one {...} line.
json_check() {
  local what=$1 expression=$2
  if [[ -x $PYTHON ]]; then
    if "$PYTHON" -c '
import json, sys
with open(sys.argv[1]) as f:
    d = json.load(f)  # fails on anything but exactly one JSON value
assert isinstance(d, dict), "not an object"
assert eval(sys.argv[2]), "false: " + sys.argv[2] + " for " + json.dumps(d)
' "$WORK/stdout" "$expression" 2>"$WORK/json_error"; then
      pass
    else
      fail "$what: $(tail -n 1 "$WORK/json_error"); stdout: $(cat "$WORK/stdout")"
    fi
  elif [[ $(wc -l <"$WORK/stdout") == 1 ]] && grep -q '^{.*}$' "$WORK/stdout"; then
    pass
  else
    fail "$what: stdout is not one JSON object: $(cat "$WORK/stdout")"
  fi
}

# expect_npy DESCRIPTION PATH DESCR SHAPE: the file is an .npy with this dtype and shape, and its
# size matches.
expect_npy() {
  local what=$1 path=$2 descr=$3 shape=$4
  if [[ ! -f $path ]]; then
    fail "$what: $path was not written"
    return
  fi
  local header
  header=$(npy_header "$path")
  if [[ $header != *"'descr': '$descr'"* || $header != *"'shape': $shape"* ]]; then
    fail "$what: header $header, expected descr $descr and shape $shape"
  else
    pass
  fi
}

same_file() {
  if cmp -s "$2" "$3"; then pass; else fail "$1: $2 and $3 differ"; fi
}

# check DESCRIPTION COMMAND...: the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass; else fail "$what"; fi
}

# ---------------------------------------------------------------------------------------------
# What works.

expect_ok "train" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" --codebooks 4 --seed 7 \
  -o "$WORK/model"
check "train: progress on stderr" grep -q "learn" "$WORK/stderr"
check "train: nothing on stdout" test ! -s "$WORK/stdout"

expect_ok "train again" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" --codebooks 4 --seed 7 \
  --threads 1 -q -o "$WORK/model_again"
same_file "learning is deterministic across runs and thread counts" "$WORK/model" \
  "$WORK/model_again"

expect_ok "info" info "$WORK/model"
check "info: describes the model" grep -q "codebooks" "$WORK/stdout"
expect_ok "info --json" info "$WORK/model" --json
json_check "info --json" \
  "d['d'] == $D and d['codebooks'] == 4 and d['m'] == 3 and d['n_train'] == 600 and \
   d['variant'] == 'maddness' and d['aggregation'] == 'average'"

expect_ok "apply" apply "$WORK/model" --a "$WORK/a_test.npy" -o "$WORK/y.npy"
expect_npy "apply output" "$WORK/y.npy" '<f4' '(100, 3)'
check "apply: Y.npy holds 100 x 3 floats after its header" \
  test "$(stat -c %s "$WORK/y.npy")" -eq $((128 + 100 * 3 * 4))
expect_ok "apply, 1 thread" apply "$WORK/model" --a "$WORK/a_test.npy" -o "$WORK/y1.npy" -t 1
expect_ok "apply, 2 threads" apply "$WORK/model" --a "$WORK/a_test.npy" -o "$WORK/y2.npy" -t 2
same_file "apply does not depend on the thread count" "$WORK/y1.npy" "$WORK/y2.npy"
same_file "apply, default threads" "$WORK/y.npy" "$WORK/y1.npy"
expect_ok "apply, column-major output" apply "$WORK/model" --a "$WORK/a_test.npy" \
  -o "$WORK/y_col.npy" --output-layout col
check "apply --output-layout col: a Fortran-order header" \
  grep -q "'fortran_order': True" "$WORK/y_col.npy"
# The same floats, transposed: column m of Y.npy is row m of the Fortran-order data.
check "apply --output-layout col: the same values as row-major output" \
  cmp -s <(od -An -v -tx4 -j128 -w12 "$WORK/y.npy" |
    awk '{for (i = 1; i <= NF; ++i) v[i, NR] = $i} END {for (i = 1; i <= 3; ++i) for (r = 1; r <= NR; ++r) print v[i, r]}') \
  <(od -An -v -tx4 -j128 -w4 "$WORK/y_col.npy" | tr -d ' ')
expect_error "apply --output-layout diagonal" "--output-layout is 'diagonal'; it must be 'row' or 'col'" \
  apply "$WORK/model" --a "$WORK/a_test.npy" -o "$WORK/y_bad.npy" --output-layout diagonal
# The encoder's column-run policy (MADDNESS_COLUMN_RUNS): the codes do not depend on it, and an
# unknown value is refused.
export MADDNESS_COLUMN_RUNS=long
expect_ok "apply, long column runs" apply "$WORK/model" --a "$WORK/a_test.npy" -o "$WORK/y_long.npy"
export MADDNESS_COLUMN_RUNS=l2-bounded
expect_ok "apply, L2-bounded column runs" apply "$WORK/model" --a "$WORK/a_test.npy" \
  -o "$WORK/y_bounded.npy"
same_file "apply does not depend on the column runs" "$WORK/y_long.npy" "$WORK/y_bounded.npy"
export MADDNESS_COLUMN_RUNS=sideways
expect_error "MADDNESS_COLUMN_RUNS=sideways" \
  "MADDNESS_COLUMN_RUNS is 'sideways'; it must be 'l2-bounded' or 'long'" \
  apply "$WORK/model" --a "$WORK/a_test.npy" -o "$WORK/y_runs.npy"
unset MADDNESS_COLUMN_RUNS
expect_ok "apply to int32 input" apply "$WORK/model" --a "$WORK/a_test_i32.npy" \
  -o "$WORK/y_i32.npy"
expect_npy "apply to int32 input" "$WORK/y_i32.npy" '<f4' '(100, 3)'

expect_ok "encode" encode "$WORK/model" --a "$WORK/a_test.npy" -o "$WORK/codes.npy"
expect_npy "encode output" "$WORK/codes.npy" '|u1' '(100, 4)'
# shellcheck disable=SC2016  # perl code, not shell
check "encode: 100 x 4 codes in [0, 16)" perl -e '
  open(my $f, "<:raw", $ARGV[0]) or die; local $/; my $body = substr(<$f>, 128);
  exit(length($body) == 400 && $body !~ /[\x10-\xff]/ ? 0 : 1)' "$WORK/codes.npy"

# Encoder first, tables later: the same model as learning with B, when learning does not use B
# (the input objective, contiguous column groups).
expect_ok "train with --b, the paper's settings" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
  --codebooks 4 --seed 7 --objective input --grouping contiguous -q -o "$WORK/model_paper"
expect_ok "apply the paper's settings" apply "$WORK/model_paper" --a "$WORK/a_test.npy" \
  -o "$WORK/y_paper.npy"
expect_ok "encode the paper's settings" encode "$WORK/model_paper" --a "$WORK/a_test.npy" \
  -o "$WORK/codes_paper.npy"
expect_ok "train without --b" train --a "$WORK/a_train.npy" --codebooks 4 --seed 7 \
  --grouping contiguous -o "$WORK/encoder"
expect_ok "info of an encoder" info "$WORK/encoder" --json
json_check "info of an encoder" "d['m'] == 0 and d['has_tables'] == False"
expect_ok "encode with an encoder" encode "$WORK/encoder" --a "$WORK/a_test.npy" \
  -o "$WORK/codes_encoder.npy"
same_file "encoder codes" "$WORK/codes_paper.npy" "$WORK/codes_encoder.npy"
expect_error "apply needs tables" "set-b" apply "$WORK/encoder" --a "$WORK/a_test.npy" \
  -o "$OUT/y.npy"
expect_ok "set-b" set-b "$WORK/encoder" --b "$WORK/b.npy" -o "$WORK/model_set_b"
expect_ok "apply after set-b" apply "$WORK/model_set_b" --a "$WORK/a_test.npy" \
  -o "$WORK/y_set_b.npy"
same_file "train --b and train + set-b give the same outputs" "$WORK/y_paper.npy" \
  "$WORK/y_set_b.npy"

# Variants and input dtypes.
expect_ok "train pq, exact sums, float64 input" train --a "$WORK/a_train_f64.npy" \
  --b "$WORK/b.npy" --codebooks 5 --variant pq --aggregation exact --lambda 0.5 \
  --max-train-rows 300 -o "$WORK/model_pq"
expect_ok "info pq" info "$WORK/model_pq" --json
json_check "info pq" "d['variant'] == 'pq' and d['aggregation'] == 'exact' and d['codebooks'] == 5 \
  and d['n_train'] == 300"
expect_ok "set-b exact" set-b "$WORK/model" --b "$WORK/b.npy" --aggregation exact \
  -o "$WORK/model_exact"
expect_ok "info exact" info "$WORK/model_exact" --json
json_check "info exact" "d['aggregation'] == 'exact'"
for c in 1 3 $D; do
  expect_ok "train C=$c" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" --codebooks "$c" -q \
    -o "$WORK/model_c$c"
  expect_ok "apply C=$c" apply "$WORK/model_c$c" --a "$WORK/a_test.npy" -o "$WORK/y_c$c.npy"
  expect_npy "apply C=$c" "$WORK/y_c$c.npy" '<f4' '(100, 3)'
done

# Learning options: the split objective, the table scale, the candidate columns.
expect_ok "train --objective product" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
  --codebooks 4 --objective product --candidate-dims 6 -q -o "$WORK/model_product"
expect_ok "train --objective product, 1 thread" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
  --codebooks 4 --objective product --candidate-dims 6 --threads 1 -q \
  -o "$WORK/model_product_again"
same_file "the product objective is deterministic" "$WORK/model_product" \
  "$WORK/model_product_again"
expect_ok "apply a product-objective model" apply "$WORK/model_product" --a "$WORK/a_test.npy" \
  -o "$WORK/y_product.npy"
expect_npy "apply a product-objective model" "$WORK/y_product.npy" '<f4' '(100, 3)'
expect_ok "train --table-scale global" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
  --codebooks 4 --seed 7 --objective input --grouping contiguous --table-scale global -q \
  -o "$WORK/model_global"
expect_ok "set-b --table-scale global" set-b "$WORK/encoder" --b "$WORK/b.npy" \
  --table-scale global -o "$WORK/model_set_b_global"
expect_ok "apply global" apply "$WORK/model_global" --a "$WORK/a_test.npy" \
  -o "$WORK/y_global.npy"
expect_ok "apply global after set-b" apply "$WORK/model_set_b_global" \
  --a "$WORK/a_test.npy" -o "$WORK/y_set_b_global.npy"
same_file "train --table-scale and set-b --table-scale agree" "$WORK/y_global.npy" \
  "$WORK/y_set_b_global.npy"
if cmp -s "$WORK/y_paper.npy" "$WORK/y_global.npy"; then
  fail "--table-scale global gives the same outputs as per-output"
else
  pass
fi
expect_ok "train --candidate-dims 1" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
  --codebooks 4 --candidate-dims 1 -q -o "$WORK/model_dims1"
expect_ok "train without --b, --table-scale: a warning" train --a "$WORK/a_train.npy" \
  --codebooks 4 --table-scale global -q -o "$WORK/encoder_warned"
check "train without --b, --table-scale: the warning names set-b" grep -q "set-b" "$WORK/stderr"

# eval: exactly one JSON object on stdout.
eval_args=(--a-train "$WORK/a_train.npy" --a-test "$WORK/a_test.npy" --b "$WORK/b.npy"
  --codebooks 4)
expect_ok "eval --json" eval "${eval_args[@]}" --json
json_check "eval --json" \
  "all(k in d for k in ['nmse', 'train_seconds', 'apply_seconds', 'codebooks', 'n_train', \
   'n_test', 'd', 'm', 'variant', 'aggregation']) and 0 <= d['nmse'] < 1 and \
   d['codebooks'] == 4 and d['n_train'] == 600 and d['n_test'] == 100 and d['d'] == $D and \
   d['m'] == 3 and 'accuracy' not in d"
json_check "eval --json: the default learning options" \
  "d['objective'] == 'auto' and d['table_scale'] == 'auto' and d['grouping'] == 'search' \
   and d['candidate_dims'] == 4"
check "eval: progress on stderr" grep -q "learn" "$WORK/stderr"
expect_ok "eval --json with labels and bias" eval "${eval_args[@]}" --labels "$WORK/labels.npy" \
  --bias "$WORK/bias.npy" --variant pq --aggregation exact --json
json_check "eval --json with labels" \
  "0 <= d['accuracy'] <= 1 and 0 <= d['exact_accuracy'] <= 1 and d['variant'] == 'pq' and \
   d['aggregation'] == 'exact'"
expect_ok "eval --json with labels, no bias" eval "${eval_args[@]}" --labels "$WORK/labels.npy" \
  --json
json_check "eval --json with labels, no bias" "'accuracy' in d and 'exact_accuracy' in d"
expect_ok "eval --objective product --table-scale global --candidate-dims 8" eval \
  "${eval_args[@]}" --objective product --table-scale global --grouping contiguous \
  --candidate-dims 8 --json
json_check "eval --objective product --table-scale global --candidate-dims 8" \
  "d['objective'] == 'product' and d['table_scale'] == 'global' and \
   d['grouping'] == 'contiguous' and d['candidate_dims'] == 8 and 0 <= d['nmse'] < 1"
expect_ok "eval --classifier with training labels" eval "${eval_args[@]}" \
  --labels "$WORK/labels.npy" --bias "$WORK/bias.npy" --classifier \
  --train-labels "$WORK/labels_train.npy" --mse-weight 0.5 --classifier-iterations 20 --json
json_check "eval --classifier with training labels" \
  "d['classifier'] is True and d['train_labels'] is True and d['mse_weight'] == 0.5 and \
   0 <= d['accuracy'] <= 1"
expect_ok "eval --classifier, distilled" eval "${eval_args[@]}" --labels "$WORK/labels.npy" \
  --classifier --json
json_check "eval --classifier, distilled" "d['classifier'] is True and d['train_labels'] is False"
expect_ok "train --classifier" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" --codebooks 4 \
  --classifier --bias "$WORK/bias.npy" --train-labels "$WORK/labels_train.npy" \
  -o "$WORK/classifier_model" -q
check "train --classifier: a model" test -s "$WORK/classifier_model"
expect_ok "eval --choose-lambda" eval "${eval_args[@]}" --choose-lambda --json
json_check "eval --choose-lambda" "d['lambda_used'] in (1, 3, 10, 30, 100, 300, 1000)"
json_check "eval: lambda_used reported" "d['lambda'] == 1"
expect_ok "eval summary" eval "${eval_args[@]}" --labels "$WORK/labels.npy"
check "eval summary: NMSE" grep -q "NMSE" "$WORK/stdout"
check "eval summary: accuracy" grep -q "accuracy" "$WORK/stdout"

# ---------------------------------------------------------------------------------------------
# What fails, cleanly.

train_args=(--b "$WORK/b.npy" --codebooks 4 -o "$OUT/model")
expect_error "train: missing A" "--a" train --a "$WORK/missing.npy" "${train_args[@]}"
expect_error "train: uint16 A" "--a" train --a "$WORK/a_u16.npy" "${train_args[@]}"
expect_error "train: 1-D A" "--a" train --a "$WORK/a_1d.npy" "${train_args[@]}"
expect_error "train: truncated A" "--a" train --a "$WORK/a_truncated.npy" "${train_args[@]}"
expect_error "train: NaN in A" "--a" train --a "$WORK/a_train_nan.npy" "${train_args[@]}"
expect_error "train: not an .npy" "--a" train --a "$WORK/npy.pl" "${train_args[@]}"
expect_error "train: B height != D" "--b" train --a "$WORK/a_train.npy" \
  --b "$WORK/b_short.npy" --codebooks 4 -o "$OUT/model"
expect_error "train: missing B" "--b" train --a "$WORK/a_train.npy" \
  --b "$WORK/missing.npy" --codebooks 4 -o "$OUT/model"
for c in 0 -3 $((D + 1)) 257; do
  expect_error "train: C = $c" "--codebooks" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
    --codebooks "$c" -o "$OUT/model"
done
expect_error "train: negative lambda" "--lambda" train --a "$WORK/a_train.npy" \
  "${train_args[@]}" --lambda -1
expect_error "train: bad variant" "--variant" train --a "$WORK/a_train.npy" \
  "${train_args[@]}" --variant bolt
expect_error "train: bad aggregation" "--aggregation" train --a "$WORK/a_train.npy" \
  "${train_args[@]}" --aggregation sum
expect_error "train: negative threads" "--threads" train --a "$WORK/a_train.npy" \
  "${train_args[@]}" --threads -2
expect_error "train: bad objective" "--objective" train --a "$WORK/a_train.npy" \
  "${train_args[@]}" --objective output
expect_error "train: --objective product without --b" "--objective product" train \
  --a "$WORK/a_train.npy" --codebooks 4 --objective product -o "$OUT/model"
check "train: --objective product without --b names --b" grep -qF -- "--b" "$WORK/stderr"
expect_error "train: bad table scale" "--table-scale" train --a "$WORK/a_train.npy" \
  "${train_args[@]}" --table-scale per-column
expect_error "train: candidate dims 0" "--candidate-dims" train --a "$WORK/a_train.npy" \
  "${train_args[@]}" --candidate-dims 0
expect_error "set-b: bad table scale" "--table-scale" set-b "$WORK/encoder" --b "$WORK/b.npy" \
  --table-scale local -o "$OUT/model"
expect_error "eval: bad objective" "--objective" eval "${eval_args[@]}" --objective both --json
expect_error "eval: bad grouping" "--grouping" eval "${eval_args[@]}" --grouping rows --json
check "eval: bad grouping names the choices" grep -q "contiguous" "$WORK/stderr"
expect_error "eval: bad table scale" "--table-scale" eval "${eval_args[@]}" --table-scale 2 --json
expect_error "eval: candidate dims -1" "--candidate-dims" eval "${eval_args[@]}" \
  --candidate-dims -1 --json
# demo checks its options before it reads any data.
if [[ $WITH_EXPERIMENTS == 1 ]]; then
  expect_error "demo: bad objective" "--objective" demo --objective rows --data "$WORK/none" -q
  expect_error "demo: bad table scale" "--table-scale" demo --table-scale none \
    --data "$WORK/none" -q
  expect_error "demo: candidate dims 0" "--candidate-dims" demo --candidate-dims 0 \
    --data "$WORK/none" -q
  expect_error "demo: missing data" "--data" demo --data "$WORK/none" -q
fi
expect_error "train: output in a missing directory" "-o" train --a "$WORK/a_train.npy" \
  --b "$WORK/b.npy" --codebooks 4 -o "$OUT/no/such/dir/model"

expect_error "apply: A width != D" "--a" apply "$WORK/model" --a "$WORK/a_wide.npy" \
  -o "$OUT/y.npy"
expect_error "apply: NaN in A" "--a" apply "$WORK/model" --a "$WORK/a_nan.npy" -o "$OUT/y.npy"
expect_error "apply: uint16 A" "--a" apply "$WORK/model" --a "$WORK/a_u16.npy" -o "$OUT/y.npy"
expect_error "apply: missing A" "--a" apply "$WORK/model" --a "$WORK/missing.npy" \
  -o "$OUT/y.npy"
expect_error "apply: missing model" "MODEL" apply "$WORK/missing_model" \
  --a "$WORK/a_test.npy" -o "$OUT/y.npy"
expect_error "apply: an .npy as the model" "MODEL" apply "$WORK/a_test.npy" \
  --a "$WORK/a_test.npy" -o "$OUT/y.npy"
expect_error "encode: A width != D" "--a" encode "$WORK/model" --a "$WORK/a_wide.npy" \
  -o "$OUT/codes.npy"
expect_error "set-b: B height != D" "--b" set-b "$WORK/model" --b "$WORK/b_short.npy" \
  -o "$OUT/model"

# Damaged model files: truncated at several lengths, and one byte changed at several places.
model_size=$(stat -c %s "$WORK/model")
for length in 0 4 12 $((model_size / 2)) $((model_size - 1)); do
  head -c "$length" "$WORK/model" >"$WORK/model_truncated"
  expect_error "apply: model truncated to $length bytes" "MODEL" apply "$WORK/model_truncated" \
    --a "$WORK/a_test.npy" -o "$OUT/y.npy"
done
for position in 0 4 8 16 $((model_size / 3)) $((model_size / 2)) $((model_size - 1)); do
  perl -e 'open(my $f, "+<:raw", $ARGV[0]) or die; seek($f, $ARGV[1], 0); read($f, my $b, 1);
           seek($f, $ARGV[1], 0); print $f chr(ord($b) ^ 0x55); close($f) or die' \
    "$(cp "$WORK/model" "$WORK/model_corrupt" && echo "$WORK/model_corrupt")" "$position"
  expect_error "apply: model byte $position changed" "MODEL" apply "$WORK/model_corrupt" \
    --a "$WORK/a_test.npy" -o "$OUT/y.npy"
  expect_error "info: model byte $position changed" "MODEL" info "$WORK/model_corrupt"
done

# A failed command leaves an existing output file as it was.
echo "previous contents" >"$WORK/keep.npy"
run apply "$WORK/model_truncated" --a "$WORK/a_test.npy" -o "$WORK/keep.npy"
check "a failed apply exits with status 1" test "$(cat "$WORK/status")" -eq 1
check "a failed apply leaves its existing output file as it was" \
  test "$(cat "$WORK/keep.npy")" = "previous contents"

expect_error "eval: A_test width != A_train width" "--a-test" eval --a-train "$WORK/a_train.npy" \
  --a-test "$WORK/a_wide.npy" --b "$WORK/b.npy" --codebooks 4 --json
check "a failed eval writes nothing on stdout" test ! -s "$WORK/stdout"
expect_error "eval: NaN in A_test" "--a-test" eval --a-train "$WORK/a_train.npy" \
  --a-test "$WORK/a_nan.npy" --b "$WORK/b.npy" --codebooks 4 --json
expect_error "eval: C > D" "--codebooks" eval "${eval_args[@]}" --codebooks $((D + 1)) --json
expect_error "eval: labels length != N_test" "--labels" eval "${eval_args[@]}" \
  --labels "$WORK/labels_short.npy" --json
expect_error "eval: labels out of [0, M)" "--labels" eval "${eval_args[@]}" \
  --labels "$WORK/labels_big.npy" --json
expect_error "eval: bias length != M" "--bias" eval "${eval_args[@]}" \
  --labels "$WORK/labels.npy" --bias "$WORK/bias_long.npy" --json
expect_error "eval: float labels" "--labels" eval "${eval_args[@]}" \
  --labels "$WORK/a_1d.npy" --json

expect_error "eval --classifier: training labels count" "--train-labels" eval "${eval_args[@]}" \
  --classifier --train-labels "$WORK/labels.npy" --json
expect_error "eval --classifier: --mse-weight < 0" "--mse-weight" eval "${eval_args[@]}" \
  --classifier --mse-weight -1 --json
expect_error "eval --classifier: --classifier-iterations 0" "--classifier-iterations" eval \
  "${eval_args[@]}" --classifier --classifier-iterations 0 --json
expect_error "train --classifier without --b" "--classifier" train --a "$WORK/a_train.npy" \
  --codebooks 4 --classifier -o "$OUT/never"
check "train --classifier without --b: no file" test ! -e "$OUT/never"

# Command-line syntax errors: status 2 (usage), with a message.
run eval "${eval_args[@]}" --train-labels "$WORK/labels_train.npy" --json
check "eval --train-labels without --classifier: status 2" test "$(cat "$WORK/status")" -eq 2
check "eval --train-labels without --classifier: names --classifier" \
  grep -qF -- "--classifier" "$WORK/stderr"
run train --b "$WORK/b.npy" -o "$OUT/model"
check "train without --a: status 2" test "$(cat "$WORK/status")" -eq 2
check "train without --a: names --a" grep -qF -- "--a" "$WORK/stderr"
# --bias serves the accuracy (--labels) and the classifier fit (--classifier): it needs one.
expect_error "eval --bias without --labels or --classifier" "--labels" eval "${eval_args[@]}" \
  --bias "$WORK/bias.npy" --json
check "eval --bias without --labels or --classifier: names --bias and --classifier" \
  grep -q -- "--bias.*--classifier" "$WORK/stderr"
expect_ok "eval --classifier --bias without --labels" eval "${eval_args[@]}" --classifier \
  --bias "$WORK/bias.npy" --json
run train --a "$WORK/a_train.npy" "${train_args[@]}" --candidate-dims many
check "--candidate-dims not a number: status 2" test "$(cat "$WORK/status")" -eq 2
check "--candidate-dims not a number: names it" grep -qF -- "--candidate-dims" "$WORK/stderr"
run frobnicate
check "unknown subcommand: status 2" test "$(cat "$WORK/status")" -eq 2

# ---------------------------------------------------------------------------------------------
# bench: one JSON object with the documented keys; bad values refused.

# Built without MADDNESS_BUILD_EXPERIMENTS, the program has no bench, demo nor experiment.
if [[ $WITH_EXPERIMENTS == 1 ]]; then
  expect_ok "bench --json" bench --n 300 --d 32 --m 5 --codebooks 4 --repeats 3 --json
  json_check "bench JSON" "all(k in d for k in ['exact_ms', 'exact_library', 'maddness_ms', \
    'encode_ms', 'scan_ms', 'speedup', 'lookups_per_s', 'target', 'threads']) and d['n'] == 300"
  expect_ok "bench raw, column-major" bench --n 100 --d 16 --m 3 --codebooks 3 --layout col \
    --output raw --repeats 2
  check "bench: names the fastest exact product" grep -q "fastest exact product" "$WORK/stdout"
  expect_error "bench --layout bad" --layout bench --layout diagonal --repeats 1
  expect_error "bench --codebooks > --d" --codebooks bench --d 8 --codebooks 9 --repeats 1
  expect_error "bench --output bad" --output bench --output f16 --repeats 1
else
  for command in bench demo experiment; do
    run "$command"
    check "$command without the experiments: status 2" test "$(cat "$WORK/status")" -eq 2
  done
fi

# ---------------------------------------------------------------------------------------------
# Real data (optional): the issue's accuracy bounds, through the command line.

if [[ -n $SHARED_DATA && -f $SHARED_DATA/sklearn_digits/A_train.npy ]]; then
  digits=$SHARED_DATA/sklearn_digits
  expect_ok "eval sklearn_digits" eval --a-train "$digits/A_train.npy" \
    --a-test "$digits/A_test.npy" --b "$digits/W.npy" --bias "$digits/b.npy" \
    --labels "$digits/y_test.npy" --codebooks 16 --json
  # Exact accuracy 0.920 is in the data's manifest; 0.89 is the issue's bound for C = 16.
  json_check "sklearn_digits accuracy" \
    "abs(d['exact_accuracy'] - 0.92) < 1e-9 and d['accuracy'] >= 0.89 and d['n_test'] == 450"
else
  echo "skipped: sklearn_digits (no shared data at '${SHARED_DATA}')" >&2
fi
if [[ -n $SHARED_DATA && -f $SHARED_DATA/imgfilter/A_train_rgb.npy ]]; then
  images=$SHARED_DATA/imgfilter
  expect_ok "eval imgfilter" eval --a-train "$images/A_train_rgb.npy" \
    --a-test "$images/A_test_rgb.npy" --b "$images/B_rgb.npy" --codebooks 16 --json
  # 0.085 is the paper's reference implementation on the same data (the issue's bound).
  json_check "imgfilter NMSE" "d['nmse'] <= 0.085 and d['d'] == 27 and d['m'] == 5"
else
  echo "skipped: imgfilter (no shared data at '${SHARED_DATA}')" >&2
fi

# ---------------------------------------------------------------------------------------------
# Hostile and degenerate inputs (docs/reliability.md): special values, empty and oversized
# shapes, too few rows; degenerate but valid training data works.
#   special PATH ROWS COLS KIND: npy.pl's special mode (above)
special() { npy special "$@"; }
special "$WORK/a_inf.npy" 100 $D inf
special "$WORK/a_ninf.npy" 100 $D -inf
special "$WORK/a_train_inf.npy" 600 $D inf
special "$WORK/b_inf.npy" $D 3 inf
special "$WORK/a_const.npy" 100 $D const
special "$WORK/a_dupcols.npy" 100 $D dupcols
special "$WORK/a_15_rows.npy" 15 $D const
special "$WORK/a_16_rows.npy" 16 $D dupcols
special "$WORK/a_0_rows.npy" 0 $D header
special "$WORK/a_0_cols.npy" 20 0 header
special "$WORK/a_overflow.npy" 4294967296 4294967297 header
special "$WORK/a_too_wide.npy" 1 1048577 const
npy matrix "$WORK/b_nan.npy" '<f4' $D 3 3 4

expect_error "train: +Inf in A" "--a" train --a "$WORK/a_train_inf.npy" "${train_args[@]}"
expect_error "train: NaN in B" "--b" train --a "$WORK/a_train.npy" --b "$WORK/b_nan.npy" \
  --codebooks 4 -o "$OUT/model"
expect_error "train: Inf in B" "--b" train --a "$WORK/a_train.npy" --b "$WORK/b_inf.npy" \
  --codebooks 4 -o "$OUT/model"
expect_error "set-b: NaN in B" "--b" set-b "$WORK/encoder" --b "$WORK/b_nan.npy" \
  -o "$OUT/model"
# The learning rules (at least 16 rows, at most 2^20 columns) are the library's: its message
# names A_train, the matrix that --a gives.
expect_error "train: 15 rows" "A_train" train --a "$WORK/a_15_rows.npy" "${train_args[@]}"
check "train: 15 rows: names the rule" grep -q "16" "$WORK/stderr"
expect_error "train: 0 rows" "--a" train --a "$WORK/a_0_rows.npy" "${train_args[@]}"
expect_error "train: 0 columns" "--a" train --a "$WORK/a_0_cols.npy" "${train_args[@]}"
expect_error "train: shape product overflows" "--a" train --a "$WORK/a_overflow.npy" \
  "${train_args[@]}"
expect_error "train: more than 2^20 columns" "A_train" train --a "$WORK/a_too_wide.npy" \
  --codebooks 4 -o "$OUT/model"
expect_error "apply: +Inf in A" "--a" apply "$WORK/model" --a "$WORK/a_inf.npy" -o "$OUT/y.npy"
expect_error "apply: -Inf in A" "--a" apply "$WORK/model" --a "$WORK/a_ninf.npy" -o "$OUT/y.npy"
expect_error "encode: +Inf in A" "--a" encode "$WORK/model" --a "$WORK/a_inf.npy" \
  -o "$OUT/codes.npy"
# An empty A is valid for the command (unlike Model::Apply): the output is empty too.
expect_ok "apply: 0 rows" apply "$WORK/model" --a "$WORK/a_0_rows.npy" -o "$WORK/y_0_rows.npy"
check "apply: 0 rows gives a 0 x 3 output" grep -qF "(0, 3)" <(npy_header "$WORK/y_0_rows.npy")
expect_error "apply: 0 columns" "--a" apply "$WORK/model" --a "$WORK/a_0_cols.npy" \
  -o "$OUT/y.npy"
expect_error "apply: shape product overflows" "--a" apply "$WORK/model" \
  --a "$WORK/a_overflow.npy" -o "$OUT/y.npy"
expect_error "apply: more than 2^20 columns" "--a" apply "$WORK/model" \
  --a "$WORK/a_too_wide.npy" -o "$OUT/y.npy"
rm -f "$WORK/a_too_wide.npy"
for kind in const dupcols 16_rows; do
  expect_ok "train on $kind A" train --a "$WORK/a_$kind.npy" --b "$WORK/b.npy" --codebooks 4 -q \
    -o "$WORK/model_$kind"
  expect_ok "apply the model learned on $kind A" apply "$WORK/model_$kind" \
    --a "$WORK/a_test.npy" -o "$WORK/y_$kind.npy"
done
expect_ok "train with C = D on constant A" train --a "$WORK/a_const.npy" --b "$WORK/b.npy" \
  --codebooks $D -q -o "$WORK/model_const_cd"

# ---------------------------------------------------------------------------------------------
# Options (issue 17): ranges, dependencies and messages.

# --max-train-rows between 1 and 15 would learn from fewer rows than prototypes.
for rows in 1 15; do
  expect_error "train --max-train-rows $rows" "--max-train-rows" train --a "$WORK/a_train.npy" \
    "${train_args[@]}" --max-train-rows $rows
  check "train --max-train-rows $rows: names the minimum" grep -q "16" "$WORK/stderr"
done
expect_ok "train --max-train-rows 16" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
  --codebooks 4 --max-train-rows 16 -o "$WORK/model_16_rows"
check "train --max-train-rows 16: the progress line counts the rows used" \
  grep -q "on 16 (sampled from 600) x $D rows" "$WORK/stderr"
expect_ok "info: the model was learned on 16 rows" info "$WORK/model_16_rows" --json
json_check "info: n_train of the sampled model" "d['n_train'] == 16"
# Negative, fractional and overflowing counts are refused, not wrapped around or saturated.
for value in -1 18446744073709551616 1e23 1.5 " 7"; do
  run train --a "$WORK/a_train.npy" "${train_args[@]}" --seed "$value"
  check "train --seed '$value': status 2" test "$(cat "$WORK/status")" -eq 2
  check "train --seed '$value': names --seed and the value" \
    grep -qF -- "--seed" "$WORK/stderr"
  run train --a "$WORK/a_train.npy" "${train_args[@]}" --max-train-rows "$value"
  check "train --max-train-rows '$value': status 2" test "$(cat "$WORK/status")" -eq 2
  check "train --max-train-rows '$value': names it" grep -qF -- "--max-train-rows" "$WORK/stderr"
done
check "no model from refused counts" test -z "$(ls -A "$OUT")"
expect_ok "train --seed 2^64 - 1" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" --codebooks 4 \
  -q --seed 18446744073709551615 -o "$WORK/model_big_seed"
# --lambda 0 with C >= 2 is singular although no bucket is empty; the message says why.
for lambda in 0 1e-30; do
  expect_error "train --lambda $lambda" "ridge_lambda is $lambda" train --a "$WORK/a_train.npy" \
    --b "$WORK/b.npy" --codebooks 2 --grouping contiguous --lambda $lambda -o "$OUT/model"
  check "train --lambda $lambda: does not blame empty buckets that are not empty" \
    grep -q "no bucket is empty, but with 2 codebooks" "$WORK/stderr"
done
# --choose-lambda compares errors of A*B: without --b it cannot run.
expect_error "train --choose-lambda without --b" "--choose-lambda" train \
  --a "$WORK/a_train.npy" --codebooks 4 --choose-lambda -o "$OUT/model"
check "train --choose-lambda without --b: names --b" grep -qF -- "--b" "$WORK/stderr"
# One rule with Python for option values: '-' and '_' are the same.
expect_ok "set-b --table-scale per_output" set-b "$WORK/encoder" --b "$WORK/b.npy" \
  --table-scale per_output -o "$WORK/model_per_output_underscore"
expect_ok "set-b --table-scale per-output" set-b "$WORK/encoder" --b "$WORK/b.npy" \
  --table-scale per-output -o "$WORK/model_per_output_hyphen"
same_file "per_output and per-output are the same value" "$WORK/model_per_output_underscore" \
  "$WORK/model_per_output_hyphen"
# A B whose tables overflow float32 is named as --b, with the reason.
perl -e '
  my $header = "{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: ('"$D"', 3), }";
  $header .= " " x (64 - (10 + length($header) + 1) % 64) . "\n";
  open(my $f, ">:raw", $ARGV[0]) or die; print $f "\x93NUMPY\x01\x00", pack("v", length($header)), $header;
  print $f pack("f<", ($_ % 2 ? -3e38 : 3e38)) for 1 .. '"$D"' * 3;' "$WORK/b_huge.npy"
expect_error "train with a huge B" "--b ($WORK/b_huge.npy)" train --a "$WORK/a_train.npy" \
  --b "$WORK/b_huge.npy" --codebooks 3 -o "$OUT/model"
check "train with a huge B: says it is too large" grep -q "too large" "$WORK/stderr"
expect_error "set-b with a huge B" "--b ($WORK/b_huge.npy)" set-b "$WORK/model" \
  --b "$WORK/b_huge.npy" -o "$OUT/model"

# ---------------------------------------------------------------------------------------------
# Outputs that are not regular files (issue 17): a FIFO and a character device are written in
# place, a symbolic link is followed; none is ever replaced by a regular file.

TARGETS="$WORK/targets"
mkdir -p "$TARGETS"
mkfifo "$TARGETS/fifo"
# The readers give up after 60 s, so that a writer that never opens the FIFO cannot hang the test.
timeout 60 cat "$TARGETS/fifo" >"$TARGETS/from_fifo" &
reader=$!
expect_ok "apply -o FIFO" apply "$WORK/model" --a "$WORK/a_test.npy" -o "$TARGETS/fifo"
wait "$reader" || true
check "apply -o FIFO: the FIFO stays a FIFO" test -p "$TARGETS/fifo"
same_file "apply -o FIFO: the reader gets the output" "$WORK/y.npy" "$TARGETS/from_fifo"
timeout 60 cat "$TARGETS/fifo" >"$TARGETS/model_from_fifo" &
reader=$!
expect_ok "set-b -o FIFO" set-b "$WORK/model" --b "$WORK/b.npy" -o "$TARGETS/fifo"
wait "$reader" || true
check "set-b -o FIFO: the FIFO stays a FIFO" test -p "$TARGETS/fifo"
expect_ok "info on the model read from the FIFO" info "$TARGETS/model_from_fifo"

echo old >"$TARGETS/behind_link.npy"
ln -s behind_link.npy "$TARGETS/link.npy"
expect_ok "apply -o symlink" apply "$WORK/model" --a "$WORK/a_test.npy" -o "$TARGETS/link.npy"
check "apply -o symlink: the link stays a link" test -L "$TARGETS/link.npy"
same_file "apply -o symlink: written through the link" "$WORK/y.npy" "$TARGETS/behind_link.npy"
ln -s behind_link.model "$TARGETS/link.model"
expect_error "train -o a symlink to nothing" "-o" train --a "$WORK/a_train.npy" \
  --b "$WORK/b.npy" --codebooks 4 -q -o "$TARGETS/link.model"
check "train -o a symlink to nothing: the link stays, nothing is created" \
  test -L "$TARGETS/link.model" -a ! -e "$TARGETS/behind_link.model"
check "no temporary file next to the targets" \
  test -z "$(find "$TARGETS" -name '*.tmp-*')"

if [[ $(id -u) == 0 ]] && mknod -m 666 "$TARGETS/null" c 1 3 2>/dev/null; then
  expect_ok "apply -o a null device" apply "$WORK/model" --a "$WORK/a_test.npy" \
    -o "$TARGETS/null"
  check "apply -o a null device: still a character device" test -c "$TARGETS/null"
  expect_ok "train -o a null device" train --a "$WORK/a_train.npy" --b "$WORK/b.npy" \
    --codebooks 4 -q -o "$TARGETS/null"
  check "train -o a null device: still a character device" test -c "$TARGETS/null"
  if mknod -m 666 "$TARGETS/full" c 1 7 2>/dev/null; then
    expect_error "apply -o a full device" "No space left" apply "$WORK/model" \
      --a "$WORK/a_test.npy" -o "$TARGETS/full"
    check "apply -o a full device: still a character device" test -c "$TARGETS/full"
  fi
else
  echo "cli_test: not root (or no mknod): skipping the character-device output cases"
fi
rm -rf "$TARGETS"

# ---------------------------------------------------------------------------------------------
# Bounded reads (issue 17): the header is checked first, and a model file is never read past the
# size its header gives. /dev/zero never ends: reading it whole would never finish.

for command in info apply; do
  status=0
  if [[ $command == info ]]; then
    timeout 30 "$MADDNESS" info /dev/zero >/dev/null 2>"$WORK/stderr" || status=$?
  else
    timeout 30 "$MADDNESS" apply "$WORK/model" --a /dev/zero -o "$OUT/y.npy" \
      2>"$WORK/stderr" || status=$?
  fi
  check "$command reads /dev/zero: refused at once (status $status)" test "$status" -eq 1
  check "$command reads /dev/zero: says what it is not" grep -q "not a" "$WORK/stderr"
done
cp "$WORK/model" "$WORK/model_huge"
truncate -s 3G "$WORK/model_huge"
run info "$WORK/model_huge"
check "info on a model with 3 GB of trailing data: status 1" test "$(cat "$WORK/status")" -eq 1
check "info on a model with 3 GB of trailing data: says so" grep -q "trailing data" "$WORK/stderr"
rm -f "$WORK/model_huge"

# ---------------------------------------------------------------------------------------------
# SIGINT and SIGTERM while a large output is written (issue 17): the temporary file goes too.
# The signal is sent once the temporary file exists (polled); a run that ends before it was seen
# is retried. `env --default-signal` undoes the SIGINT that the shell ignores for background jobs.

SIGNALED="$WORK/signaled"
mkdir -p "$SIGNALED"
npy matrix "$WORK/b_wide.npy" '<f4' $D 4000 9
npy matrix "$WORK/a_many.npy" '<f4' 12000 $D 10
expect_ok "train a model with 4000 outputs" train --a "$WORK/a_train.npy" \
  --b "$WORK/b_wide.npy" --codebooks 4 -q -o "$WORK/model_wide"
for signal in INT TERM; do
  seen=0
  for _ in 1 2 3 4 5; do
    env --default-signal=INT,TERM "$MADDNESS" apply "$WORK/model_wide" --a "$WORK/a_many.npy" \
      -o "$SIGNALED/y.npy" 2>/dev/null &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      if compgen -G "$SIGNALED/y.npy.tmp-*" >/dev/null; then
        kill -s "$signal" "$pid"
        seen=1
        break
      fi
      sleep 0.005
    done
    status=0
    wait "$pid" || status=$?
    if [[ $seen == 1 ]]; then
      check "apply killed by SIG$signal: ends by the signal" \
        test "$status" -eq $((128 + $(kill -l "$signal")))
      check "apply killed by SIG$signal: no temporary file" \
        test -z "$(ls -A "$SIGNALED")"
      break
    fi
    rm -f "$SIGNALED/y.npy"
  done
  check "apply: the temporary file was seen, so SIG$signal was tested" test "$seen" -eq 1
  rm -rf "${SIGNALED:?}"/*
done

echo "cli_test: $((checks - failures)) of $checks checks passed"
[[ $failures == 0 ]]
