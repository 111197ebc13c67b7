#!/usr/bin/env python3
"""Writes the results headline at the top of README.md from the experiment suite's results.csv.

The headline is a short table, for Fashion-MNIST and digits: the exact product's accuracy and
time (the fastest exact float32 product, the suite's reference); MADDNESS, with either variant of
its tables (default or classifier-aware), at its fastest point whose accuracy is within 1 point of
the exact product's, with its speedup over that exact product; and the fastest MADDNESS point with
its accuracy. It replaces what README.md holds between the lines

    <!-- results-headline:begin -->
    <!-- results-headline:end -->

Usage: readme_headline.py [--results CSV] [--readme README] [--check]
  --results  the suite's results.csv (default: docs/results/results.csv of this project)
  --readme   the README to rewrite (default: README.md of this project)
  --check    rewrite nothing; exit 1 when the README's block is not what the results give
Results without the classifier-aware rows (older runs) give a headline from the other rows.
"""

import argparse
import csv
import math
import os
import sys
import textwrap

BEGIN = "<!-- results-headline:begin -->"
END = "<!-- results-headline:end -->"
PROJECT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_RESULTS = os.path.join("docs", "results", "results.csv")
DEFAULT_README = "README.md"
# task in results.csv: its name in the headline.
TASKS = (("fashion", "Fashion-MNIST"), ("digits", "sklearn digits"))
OURS = ("MADDNESS", "MADDNESS-classifier")
# "Within 1 point": accuracy at least the exact product's minus 0.01 (a float margin for ties).
TOLERANCE = 0.01 + 1e-9
COMMAND = "/usr/bin/python3 bench/experiment/readme_headline.py"


def fail(message):
    sys.exit("readme_headline: " + message)


def number(value):
    if value in (None, ""):
        return None
    result = float(value)
    return None if math.isnan(result) else result


def read_rows(path):
    try:
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        fail("--results %s: cannot read it: %s" % (path, error.strerror))
    needed = ("task", "method", "params", "accuracy", "exact_accuracy", "time_ms",
              "exact_time_ms", "speedup")
    if not rows:
        fail("--results %s: no rows" % path)
    missing = [field for field in needed if field not in rows[0]]
    if missing:
        fail("--results %s: no column %s; is it the suite's results.csv?" % (
            path, ", ".join(missing)))
    return rows


def variant(row):
    """A MADDNESS point as the headline names it."""
    aware = row["method"] == "MADDNESS-classifier"
    return "%s, %s" % (row["params"], "classifier-aware tables" if aware else "default tables")


def exact_name(rows):
    """The fastest exact product: its library and the layout of A, from the newer columns when
    present, else from the Exact row with speedup 1."""
    first = rows[0]
    if first.get("exact_library"):
        # "oneDNN 2.6.3, AVX2 kernels: f32 matmul, B packed": the part before the colon.
        return "%s, %s-major A" % (first["exact_library"].split(":")[0], first["exact_layout"])
    for row in rows:
        if row["method"] == "Exact" and abs(number(row["speedup"]) - 1.0) < 1e-9:
            return "%s, %s-major A" % (row["params"], row.get("layout") or "row")
    return "exact float32"


def task_line(name, rows):
    exact_accuracy = number(rows[0]["exact_accuracy"])
    exact_ms = number(rows[0]["exact_time_ms"])
    ours = [r for r in rows if r["method"] in OURS
            and number(r["accuracy"]) is not None and number(r["speedup"]) is not None]
    first = rows[0]
    if all(first.get(field) for field in ("timed_rows", "d", "m")):
        name += ", %s x %s times %s x %s" % (first["timed_rows"], first["d"], first["d"],
                                              first["m"])
    if exact_accuracy is None or exact_ms is None or not ours:
        return "| %s | no exact accuracy or MADDNESS rows in the results | | | |" % name

    def key(row):
        # Fastest first; among equal speeds (one model timed once) the more accurate.
        return (number(row["speedup"]), number(row["accuracy"]))

    close = [r for r in ours if number(r["accuracy"]) >= exact_accuracy - TOLERANCE]
    fastest = max(ours, key=key)
    if close:
        best = max(close, key=key)
        within = "%.3f (%s) | **%.1fx**" % (number(best["accuracy"]), variant(best),
                                             number(best["speedup"]))
    else:
        most = max(ours, key=lambda r: (number(r["accuracy"]), number(r["speedup"])))
        within = "none; the most accurate: %.3f (%s) | %.1fx" % (
            number(most["accuracy"]), variant(most), number(most["speedup"]))
    return "| %s | %.3f, %.3f ms (%s) | %s | %.3f (%s) at %.1fx |" % (
        name, exact_accuracy, exact_ms, exact_name(rows), within, number(fastest["accuracy"]),
        variant(fastest), number(fastest["speedup"]))


def headline(rows, results_label):
    lines = [BEGIN,
             "<!-- Generated by %s from %s; do not edit by hand. -->" % (COMMAND, results_label),
             "",
             "| task | exact product: accuracy, time | MADDNESS within 1 point of exact: accuracy "
             "(C, tables) | its speedup | fastest MADDNESS: accuracy (C, tables) at speedup |",
             "|---|---|---|---|---|"]
    present = 0
    notes = []
    for task, name in TASKS:
        task_rows = [r for r in rows if r["task"] == task]
        if task_rows:
            present += 1
            lines.append(task_line(name, task_rows))
            if task_rows[0].get("timing_note"):
                notes.append("%s: %s" % (name, task_rows[0]["timing_note"]))
    if not present:
        lines.append("| (no Fashion-MNIST or digits rows in %s) | | | | |" % results_label)
    first = rows[0]
    machine = []
    if first.get("cpu"):
        machine.append(first["cpu"])
    if first.get("target"):
        machine.append("maddness's kernels on %s" % first["target"])
    if first.get("threads"):
        machine.append("%s thread%s per product" % (
            first["threads"], "" if first["threads"] == "1" else "s"))
    classifier = any(r["method"] == "MADDNESS-classifier" for r in rows)
    note = ("Speedups are over the fastest exact float32 product on the same machine (%s), "
              "on the shapes given%s; MADDNESS's times include encoding A and writing float32 "
              "outputs.%s Every point, and how they were measured: "
              "[docs/results.md](docs/results.md)." % (
                  "; ".join(machine) if machine else "machine not recorded",
                  " (%s)" % "; ".join(notes) if notes else "",
                  "" if classifier else
                  " These results predate the classifier-aware tables in the suite: default "
                  "tables only."))
    lines += [""] + textwrap.wrap(note, 100, break_on_hyphens=False) + [END]
    return "\n".join(lines)


def replace_block(text, block, readme):
    begin = text.find(BEGIN)
    end = text.find(END)
    if begin < 0 or end < 0 or end < begin:
        fail("--readme %s: no %s ... %s block; add the two lines where the headline goes" % (
            readme, BEGIN, END))
    if text.find(BEGIN, begin + 1) >= 0 or text.find(END, end + 1) >= 0:
        fail("--readme %s: more than one headline block" % readme)
    return text[:begin] + block + text[end + len(END):]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=os.path.join(PROJECT, DEFAULT_RESULTS),
                        help="the suite's results.csv (default: %s)" % DEFAULT_RESULTS)
    parser.add_argument("--readme", default=os.path.join(PROJECT, DEFAULT_README),
                        help="the README to rewrite (default: %s)" % DEFAULT_README)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when the README's headline does not match the results")
    args = parser.parse_args()
    rows = read_rows(args.results)
    # The results file as the headline names it: relative to the project when inside it.
    label = os.path.relpath(os.path.abspath(args.results), PROJECT)
    if label.startswith(".."):
        label = os.path.basename(args.results)
    block = headline(rows, label)
    try:
        with open(args.readme) as handle:
            text = handle.read()
    except OSError as error:
        fail("--readme %s: cannot read it: %s" % (args.readme, error.strerror))
    updated = replace_block(text, block, args.readme)
    if args.check:
        if updated != text:
            fail("%s does not match %s; run %s" % (args.readme, args.results, COMMAND))
        print("readme_headline: %s matches %s" % (args.readme, args.results))
        return
    if updated != text:
        # Written next to the README and renamed over it: never a half-written file.
        temporary = args.readme + ".tmp"
        with open(temporary, "w") as handle:
            handle.write(updated)
        os.replace(temporary, args.readme)
    print("readme_headline: wrote the headline of %s from %s" % (args.readme, args.results))


if __name__ == "__main__":
    main()
