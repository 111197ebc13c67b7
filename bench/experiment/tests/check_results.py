#!/usr/bin/env python3
"""Checks the results of `maddness-experiment --quick` (used by the ctest experiment_quick).

Usage: check_results.py RESULTS_DIR TASK...
Each TASK (e.g. "digits", "imgfilter/B_rgb", "ucr", or "ucr/*" for every task under ucr/) must
have the rows of the quick grid with sane values. Exits 1 with a message naming the first problem.
"""

import csv
import json
import math
import os
import sys

QUICK_CODEBOOKS = (4, 16)
QUICK_SKETCHES = (2, 8)


def fail(message):
    sys.exit("check_results: " + message)


def number(value):
    return None if value in ("", None) else float(value)


def expected_params(d, m):
    params = [("Exact", "oneDNN"), ("Exact", "OpenBLAS"), ("ScalarQuantize", "int8")]
    for c in QUICK_CODEBOOKS:
        if c <= d:
            params += [("MADDNESS", "C=%d" % c), ("MADDNESS-PQ", "C=%d" % c), ("Bolt", "C=%d" % c)]
    for s in QUICK_SKETCHES:
        if s <= d and s <= m:
            params.append(("PCA", "d=%d" % s))
        if s < d and s < m:
            params += [("RandGauss", "d=%d" % s), ("HashJL", "d=%d" % s)]
    return params


def check_task(task, rows):
    if not rows:
        fail("task %s: no rows" % task)
    if rows[0]["group"] == "ucr-summary":
        for row in rows:
            value = number(row["relative_accuracy"])
            if value is None or not 0 <= value <= 2:
                fail("task %s: %s %s relative accuracy %r" % (task, row["method"], row["params"],
                                                              value))
            if not number(row["speedup_ceiling"]) > 0:
                fail("task %s: %s %s speedup ceiling %r" % (task, row["method"], row["params"],
                                                           row["speedup_ceiling"]))
            if not number(row["speedup"]) > 0:
                fail("task %s: %s %s speedup %r" % (task, row["method"], row["params"],
                                                   row["speedup"]))
        if not any(r["method"] == "MADDNESS" for r in rows):
            fail("task %s: no MADDNESS summary row" % task)
        return
    d, m = int(rows[0]["d"]), int(rows[0]["m"])
    found = {(r["method"], r["params"]): r for r in rows}
    missing = [p for p in expected_params(d, m) if p not in found]
    if missing:
        fail("task %s: missing rows %s" % (task, missing))
    if len(rows) != len(expected_params(d, m)):
        fail("task %s: %d rows, expected %d" % (task, len(rows), len(expected_params(d, m))))
    speedups = []
    for row in rows:
        name = "task %s: %s %s" % (task, row["method"], row["params"])
        nmse = number(row["nmse"])
        time_ms, speedup = number(row["time_ms"]), number(row["speedup"])
        if nmse is None or not nmse >= 0 or math.isinf(nmse):
            fail("%s: NMSE %r" % (name, nmse))
        if not (time_ms and time_ms > 0 and speedup and speedup > 0):
            fail("%s: time %r ms, speedup %r" % (name, time_ms, speedup))
        if abs(speedup - number(row["exact_time_ms"]) / time_ms) > 1e-6 * speedup:
            fail("%s: speedup %r is not exact time / time" % (name, speedup))
        time_raw, speedup_raw = number(row["time_raw_ms"]), number(row["speedup_raw"])
        if row["method"] in ("MADDNESS", "MADDNESS-PQ"):
            if not (time_raw and time_raw > 0 and speedup_raw and speedup_raw > 0):
                fail("%s: raw-output time %r ms, speedup %r" % (name, time_raw, speedup_raw))
            if abs(speedup_raw - number(row["exact_time_ms"]) / time_raw) > 1e-6 * speedup_raw:
                fail("%s: raw speedup %r is not exact time / raw time" % (name, speedup_raw))
        elif time_raw is not None or speedup_raw is not None:
            fail("%s: a raw-output time for a method without raw outputs" % name)
        encode_ms = number(row["encode_ms"])
        if row["method"] == "Bolt":
            if not (encode_ms and encode_ms > 0):
                fail("%s: Bolt's encode time %r ms" % (name, encode_ms))
        elif encode_ms is not None:
            fail("%s: an encode time for a method without a separate encoding step" % name)
        write_ms, ceiling = number(row["output_write_ms"]), number(row["speedup_ceiling"])
        if not (write_ms and write_ms > 0 and ceiling and ceiling > 0):
            fail("%s: output write time %r ms, ceiling %r" % (name, write_ms, ceiling))
        if abs(ceiling - number(row["exact_time_ms"]) / write_ms) > 1e-6 * ceiling:
            fail("%s: ceiling %r is not exact time / output write time" % (name, ceiling))
        accuracy = number(row["accuracy"])
        if accuracy is not None and not 0 <= accuracy <= 1:
            fail("%s: accuracy %r" % (name, accuracy))
        if row["method"] == "Exact":
            speedups.append(speedup)
            if nmse > 1e-6:
                fail("%s: the exact product has NMSE %r" % (name, nmse))
        if row["method"] in ("MADDNESS", "ScalarQuantize") and nmse > 0.5:
            fail("%s: NMSE %r is far too large" % (name, nmse))
        if row["target"] == "" or row["threads"] == "":
            fail("%s: no target or threads" % name)
    if abs(max(speedups) - 1.0) > 1e-9:
        fail("task %s: the faster exact product has speedup %r, not 1" % (task, max(speedups)))
    # More codebooks must help where there are enough training rows for 16 * C prototypes
    # (not on the small UCR training sets, where C = 16 can overfit).
    ours = [number(found[("MADDNESS", "C=%d" % c)]["nmse"]) for c in QUICK_CODEBOOKS if c <= d]
    if len(ours) == 2 and int(rows[0]["n_train"]) >= 1000 and not ours[1] < ours[0]:
        fail("task %s: MADDNESS's NMSE does not fall from C=4 to C=16: %r" % (task, ours))


def main():
    if len(sys.argv) < 3:
        fail("usage: check_results.py RESULTS_DIR TASK...")
    results_dir, tasks = sys.argv[1], sys.argv[2:]
    with open(os.path.join(results_dir, "results.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(os.path.join(results_dir, "results.json")) as handle:
        document = json.load(handle)
    if not document["settings"].get("complete"):
        fail("results.json is not marked complete")
    points = document["points"]
    if len(points) != len(rows):
        fail("results.json has %d points but results.csv %d rows" % (len(points), len(rows)))
    for point, row in zip(points, rows):
        if (point["task"], point["method"], point["params"]) != (
                row["task"], row["method"], row["params"]):
            fail("results.json and results.csv differ at %s" % row)
    present = sorted({r["task"] for r in rows})
    # "PREFIX/*" stands for every present task under PREFIX/ (at least one).
    expanded = []
    for task in tasks:
        if task.endswith("/*"):
            matches = [t for t in present if t.startswith(task[:-1])]
            if not matches:
                fail("no task matches %s" % task)
            expanded += matches
        else:
            expanded.append(task)
    tasks = expanded
    unexpected = set(present) - set(tasks)
    if unexpected:
        fail("unexpected tasks %s" % sorted(unexpected))
    for task in tasks:
        check_task(task, [r for r in rows if r["task"] == task])
    print("check_results: %d rows in %d tasks look right" % (len(rows), len(tasks)))


if __name__ == "__main__":
    main()
