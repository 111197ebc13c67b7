#!/usr/bin/env bash
# The Python package installed the way users install it, then tested where they use it:
#   1. a clean copy of the checkout (the files git tracks and the untracked ones it does not
#      ignore, as they are in the working tree: no build folder comes along);
#   2. `pip install --no-build-isolation --no-index COPY` into a fresh venv made with
#      `python3 -m venv --system-site-packages` (numpy and torch from Debian), then, from a folder
#      outside the checkout and the copy, `import maddness` must come from that venv and the
#      Python test suite runs against it;
#   3. `python3 -m build --no-isolation --wheel COPY`, the wheel installed into a second venv,
#      and imported there.
# Both builds share one CMake build folder, so the second one compiles nothing new.
#
#   bash tests/pip_install_test.sh SOURCE_DIR WORK_DIR [PATH_TO_MADDNESS_PROGRAM]
#
# The maddness program, when given, lets the suite's command-line round trips run (else pytest
# skips them). WORK_DIR is emptied first.
set -euo pipefail

src=$(cd "${1:?usage: pip_install_test.sh SOURCE_DIR WORK_DIR [maddness]}" && pwd)
work=${2:?usage: pip_install_test.sh SOURCE_DIR WORK_DIR [maddness]}
cli=${3:-}
python=/usr/bin/python3  # Debian's Python, with numpy

rm -rf "$work"
mkdir -p "$work/copy" "$work/outside"
work=$(cd "$work" && pwd)
copy=$work/copy

if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$src" && git ls-files -z --cached --others --exclude-standard) |
    while IFS= read -r -d '' file; do
      [[ -f $src/$file ]] && printf '%s\0' "$file"  # not a file deleted in the working tree
    done | tar -C "$src" --null -T - -cf - | tar -C "$copy" -xf -
else
  tar -C "$src" --exclude='./build*' -cf - . | tar -C "$copy" -xf -
fi

export MADDNESS_PIP_BUILD_DIR=$work/cmake
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2}
export PYTHONDONTWRITEBYTECODE=1
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1

# check_import VENV: from outside the checkout, `import maddness` loads the venv's copy.
check_import() {
  (cd "$work/outside" && "$1/bin/python" - "$1" <<'PYTHON'
import os
import sys

import maddness

venv = os.path.realpath(sys.argv[1])
where = os.path.realpath(maddness.__file__)
assert where.startswith(venv + os.sep), f"maddness imported from {where}, not from {venv}"
print(f"pip_install_test: maddness {maddness.__version__} from {os.path.dirname(where)}, "
      f"SIMD target {maddness.simd_target()}")
PYTHON
  )
}

echo "pip_install_test: pip install --no-build-isolation into a venv" >&2
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install --quiet --no-build-isolation "$copy"
check_import "$work/venv"
(cd "$work/outside" && MADDNESS_CLI=$cli "$work/venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$copy/tests/python")

echo "pip_install_test: a wheel with python3 -m build, installed into a second venv" >&2
"$python" -m build --no-isolation --wheel --outdir "$work/dist" "$copy" >"$work/build.log" 2>&1 ||
  { tail -n 40 "$work/build.log" >&2; exit 1; }
wheels=("$work"/dist/maddness-*.whl)
if [[ ${#wheels[@]} -ne 1 || ! -f ${wheels[0]} ]]; then
  echo "pip_install_test: expected one wheel in $work/dist, found: ${wheels[*]}" >&2
  exit 1
fi
"$python" -m venv --system-site-packages "$work/venv-wheel"
"$work/venv-wheel/bin/pip" install --quiet "${wheels[0]}"
check_import "$work/venv-wheel"
echo "pip_install_test: passed" >&2
