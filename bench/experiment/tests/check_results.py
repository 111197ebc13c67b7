#!/usr/bin/env python3
"""Checks the results of `maddness-experiment --quick` (used by the ctest experiment_quick).

Usage: check_results.py RESULTS_DIR TASK... [--classifier-task NAME]...
Each TASK (e.g. "digits", "imgfilter/B_rgb", "ucr", or "ucr/*" for every task under ucr/) must
have the rows of the quick grid with sane values: the classifier-aware MADDNESS on the
classification tasks with training labels (digits, fashion, deepfeat/classifier, and each
--classifier-task), and on no other; the CPU model, the SIMD target, and the library and layout of
every timing. Exits 1 with a message naming the first problem.
"""

import csv
import json
import math
import os
import sys

QUICK_CODEBOOKS = (4, 16)
QUICK_SKETCHES = (2, 8)
# The tasks with the classes of A_train's rows, where the suite adds MADDNESS-classifier.
CLASSIFIER_TASKS = {"digits", "fashion", "deepfeat/classifier"}
OURS = ("MADDNESS", "MADDNESS-classifier", "MADDNESS-PQ")
LAYOUTS = ("row", "col")


def fail(message):
    sys.exit("check_results: " + message)


def number(value):
    return None if value in ("", None) else float(value)


def expected_params(d, m, classifier):
    params = [("Exact", "oneDNN"), ("Exact", "OpenBLAS"), ("ScalarQuantize", "int8 per-row"),
              ("ScalarQuantize", "int8 static per-tensor")]
    for c in QUICK_CODEBOOKS:
        if c <= d:
            params += [("MADDNESS", "C=%d" % c), ("MADDNESS-PQ", "C=%d" % c), ("Bolt", "C=%d" % c)]
            if classifier:
                params.append(("MADDNESS-classifier", "C=%d" % c))
    for s in QUICK_SKETCHES:
        if s <= d and s <= m:
            params.append(("PCA", "d=%d" % s))
        if s < d and s < m:
            params += [("RandGauss", "d=%d" % s), ("HashJL", "d=%d" % s)]
    return params


def check_machine(name, row):
    """The fields that say what ran: CPU, SIMD target, threads, library and layouts."""
    for field in ("cpu", "target", "threads", "library"):
        if row[field] == "":
            fail("%s: no %s" % (name, field))
    if row["cpu"].startswith("unknown"):
        fail("%s: CPU model %r" % (name, row["cpu"]))
    if row["method"] in OURS and row["target"] not in row["library"]:
        fail("%s: library %r does not name the SIMD target %s" % (name, row["library"],
                                                                 row["target"]))
    if row["method"] == "Exact":
        expected = "oneDNN" if row["params"] == "oneDNN" else "OpenBLAS"
        if not row["library"].startswith(expected):
            fail("%s: library %r" % (name, row["library"]))


def check_task(task, rows, classifier_tasks):
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
            check_machine("task %s: %s %s" % (task, row["method"], row["params"]), row)
        if not any(r["method"] == "MADDNESS" for r in rows):
            fail("task %s: no MADDNESS summary row" % task)
        return
    d, m = int(rows[0]["d"]), int(rows[0]["m"])
    expected = expected_params(d, m, task in classifier_tasks)
    # ScalarQuantize's params name its quantization of A, then its int8 path, after the comma
    # (methods.h): "int8 per-row, VNNI codes ..." and "int8 static per-tensor, VNNI codes ...".
    found = {(r["method"],
              r["params"].split(",")[0] if r["method"] == "ScalarQuantize" else r["params"]): r
             for r in rows}
    missing = [p for p in expected if p not in found]
    if missing:
        fail("task %s: missing rows %s" % (task, missing))
    if len(rows) != len(expected):
        fail("task %s: %d rows, expected %d (%s)" % (
            task, len(rows), len(expected), sorted(set(found) - set(expected))))
    exact_rows = {r["params"]: r for r in rows if r["method"] == "Exact"}
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
        check_machine(name, row)
        # The layouts: time_ms is the time of `layout`; the exact time is that of the exact
        # product named by exact_library, on exact_layout.
        if row["layout"] not in LAYOUTS or row["exact_layout"] not in LAYOUTS:
            fail("%s: layout %r, exact layout %r" % (name, row["layout"], row["exact_layout"]))
        if number(row["time_%s_ms" % row["layout"]]) != time_ms:
            fail("%s: time %r is not the %s-major time" % (name, time_ms, row["layout"]))
        exact = [r for r in exact_rows.values() if r["library"] == row["exact_library"]]
        if len(exact) != 1 or number(exact[0]["time_%s_ms" % row["exact_layout"]]) != number(
                row["exact_time_ms"]):
            fail("%s: exact time %r is not that of %r on %s-major A" % (
                name, row["exact_time_ms"], row["exact_library"], row["exact_layout"]))
        time_raw, speedup_raw = number(row["time_raw_ms"]), number(row["speedup_raw"])
        if row["method"] in OURS:
            if not (time_raw and time_raw > 0 and speedup_raw and speedup_raw > 0):
                fail("%s: raw-output time %r ms, speedup %r" % (name, time_raw, speedup_raw))
            if abs(speedup_raw - number(row["exact_time_ms"]) / time_raw) > 1e-6 * speedup_raw:
                fail("%s: raw speedup %r is not exact time / raw time" % (name, speedup_raw))
            if row["raw_layout"] not in LAYOUTS:
                fail("%s: raw-output layout %r" % (name, row["raw_layout"]))
        elif time_raw is not None or speedup_raw is not None or row["raw_layout"]:
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
        # (Not MADDNESS-classifier: its tables fit the training labels, not the product; on the
        # tiny CNN of experiment_deepfeat, whose classifier is barely above chance, they classify
        # far better than the product and are far from it.)
        if row["method"] in ("MADDNESS", "ScalarQuantize") and nmse > 0.5:
            fail("%s: NMSE %r is far too large" % (name, nmse))
    if abs(max(speedups) - 1.0) > 1e-9:
        fail("task %s: the faster exact product has speedup %r, not 1" % (task, max(speedups)))
    # More codebooks must help where there are enough training rows for 16 * C prototypes
    # (not on the small UCR training sets, where C = 16 can overfit).
    ours = [number(found[("MADDNESS", "C=%d" % c)]["nmse"]) for c in QUICK_CODEBOOKS if c <= d]
    if len(ours) == 2 and int(rows[0]["n_train"]) >= 1000 and not ours[1] < ours[0]:
        fail("task %s: MADDNESS's NMSE does not fall from C=4 to C=16: %r" % (task, ours))
    # The classifier-aware tables, learned from the training labels, classify at least about as
    # well as the default ones (they fall back to them when a held-out check finds them worse);
    # more than 2 points worse at C=16 is a bug, not noise.
    if task in classifier_tasks and 16 <= d:
        plain = number(found[("MADDNESS", "C=16")]["accuracy"])
        aware = number(found[("MADDNESS-classifier", "C=16")]["accuracy"])
        if aware is None or plain is None or aware < plain - 0.02:
            fail("task %s: MADDNESS-classifier C=16 accuracy %r against MADDNESS's %r" % (
                task, aware, plain))


def main():
    arguments = sys.argv[1:]
    classifier_tasks = set(CLASSIFIER_TASKS)
    while "--classifier-task" in arguments:
        at = arguments.index("--classifier-task")
        if at + 1 >= len(arguments):
            fail("--classifier-task needs a task name")
        classifier_tasks.add(arguments[at + 1])
        del arguments[at:at + 2]
    if len(arguments) < 2:
        fail("usage: check_results.py RESULTS_DIR TASK... [--classifier-task NAME]...")
    results_dir, tasks = arguments[0], arguments[1:]
    with open(os.path.join(results_dir, "results.csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    with open(os.path.join(results_dir, "results.json")) as handle:
        document = json.load(handle)
    settings = document["settings"]
    if not settings.get("complete"):
        fail("results.json is not marked complete")
    for field in ("cpu", "target"):
        if not settings.get(field):
            fail("results.json's settings have no %s" % field)
        if any(row[field] != settings[field] for row in rows):
            fail("results.csv's %s differs from the settings' %r" % (field, settings[field]))
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
        check_task(task, [r for r in rows if r["task"] == task], classifier_tasks)
    print("check_results: %d rows in %d tasks look right" % (len(rows), len(tasks)))


if __name__ == "__main__":
    main()
