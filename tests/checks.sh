# Sourced by the end-to-end tests of the programs (tests/cli_test.sh, tests/mpi/mpi_test.sh):
# a scratch folder $WORK, removed on exit; $OUT in it, where commands that must fail write (it
# must stay empty); the counters of checks and failures, and the checks of a recorded command.
# A test records a command's stdout, stderr and exit status in $WORK/{stdout,stderr,status}.

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
OUT="$WORK/out"  # outputs of commands that must fail; must stay empty
mkdir -p "$OUT"

failures=0
checks=0
pass() { checks=$((checks + 1)); }
fail() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "FAIL: $*" >&2
}

# recorded_ok DESCRIPTION: the recorded command succeeded.
recorded_ok() {
  if [[ $(cat "$WORK/status") == 0 ]]; then
    pass
  else
    fail "$1: exit status $(cat "$WORK/status"); stderr: $(cat "$WORK/stderr")"
  fi
}

# recorded_error DESCRIPTION PROBLEM: the recorded command failed with status 1, PROBLEM (what
# is wrong with its stderr) is empty, and it left $OUT empty.
recorded_error() {
  local what=$1 problem=$2 status
  status=$(cat "$WORK/status")
  if [[ $status != 1 ]]; then
    fail "$what: expected exit status 1, got $status; stderr: $(cat "$WORK/stderr")"
  elif [[ -n $problem ]]; then
    fail "$what: $problem"
  elif [[ -n $(ls -A "$OUT") ]]; then
    fail "$what: left files behind: $(ls -A "$OUT")"
  else
    pass
  fi
}
