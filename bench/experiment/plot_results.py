#!/usr/bin/env python3
"""Plots and summarizes the results of `maddness-experiment`.

Reads RESULTS_DIR/results.json and writes, into --out (default RESULTS_DIR):
  results.png, results.svg  accuracy (classification tasks), mean relative accuracy (UCR
                            summary) or 1 - NMSE (the others) against the speedup over the
                            fastest exact float32 product (log axis), one panel per task, as in
                            the paper's figures;
  summary.md                the machine (CPU, SIMD target, the libraries timed), the acceptance
                            checks (MADDNESS, either variant of its tables, on the Pareto
                            frontier above 10x; MADDNESS's NMSE against MADDNESS-PQ's at each C),
                            MADDNESS against 8-bit scalar quantization, and every point as a
                            table with the library and layout of its time.

Usage: plot_results.py RESULTS_DIR [--out DIR] [--no-plots]
"""

import argparse
import json
import math
import os
import sys

METHOD_STYLE = {
    # method: (color, marker), after the paper's figures
    "MADDNESS": ("#d62728", "o"),
    "MADDNESS-classifier": ("#7f0000", "P"),
    "MADDNESS-PQ": ("#ff9896", "s"),
    "Exact": ("black", "*"),
    "ScalarQuantize": ("#1f77b4", "D"),
    "Bolt": ("#2ca02c", "^"),
    "PCA": ("#9467bd", "v"),
    "RandGauss": ("#8c564b", "<"),
    "HashJL": ("#e377c2", ">"),
}
METHOD_ORDER = list(METHOD_STYLE)
SPEEDUP_MARK = 10.0
# MADDNESS with either variant of its tables: the default ones, or the classifier-aware ones
# learned from the training labels (classification tasks only).
OURS = ("MADDNESS", "MADDNESS-classifier")
# The library's models for the frontier from min(10x, half the ceiling): its tables from ridge
# prototypes (MADDNESS), bucket means (MADDNESS-PQ) or fitted to the labels (classifier-aware),
# the same encoder and kernels.
LIBRARY = OURS + ("MADDNESS-PQ",)


def label(point):
    """A MADDNESS point's name in the summary's lists: "C=16", or "C=16 (classifier)"."""
    if point["method"] == "MADDNESS-classifier":
        return point["params"] + " (classifier)"
    return point["params"]


def quality_name(points):
    """What a task's panel plots on its y axis."""
    first = points[0]
    if first["group"] == "ucr-summary":
        return "mean accuracy / exact accuracy"
    if first["accuracy"] is not None:
        return "accuracy"
    return "1 - NMSE"


def quality(point):
    if point["group"] == "ucr-summary":
        return point["relative_accuracy"]
    if point["accuracy"] is not None:
        return point["accuracy"]
    if point["nmse"] is None:
        return None
    return 1.0 - point["nmse"]


def load(results_dir):
    path = os.path.join(results_dir, "results.json")
    try:
        with open(path) as handle:
            document = json.load(handle)
    except OSError as error:
        sys.exit("plot_results: cannot read %s: %s" % (path, error.strerror))
    except json.JSONDecodeError as error:
        sys.exit("plot_results: %s is not JSON: %s" % (path, error))
    points = document.get("points")
    if not isinstance(points, list) or not points:
        sys.exit("plot_results: %s holds no points" % path)
    return document.get("settings", {}), points


def by_task(points):
    tasks = {}
    for point in points:
        tasks.setdefault(point["task"], []).append(point)
    return tasks


def dominated(point, others):
    """True when some other point is at least as fast and as accurate, and better in one."""
    speed, value = point["speedup"], quality(point)
    for other in others:
        other_speed, other_value = other["speedup"], quality(other)
        if other_speed is None or other_value is None:
            continue
        if other_speed >= speed and other_value >= value and (
                other_speed > speed or other_value > value):
            return True
    return False


def pareto_check(points, speed="speedup"):
    """MADDNESS points (either variant of its tables) above SPEEDUP_MARK and whether each is on
    the frontier of the other methods' points. With
    speed="speedup_raw", MADDNESS and MADDNESS-PQ count with the paper's timing (raw sums, no
    de-quantization) and every other method with its own time."""
    def timed(point):
        value = point.get(speed) if speed != "speedup" else None
        return dict(point, speedup=value if value is not None else point["speedup"])

    points = [timed(p) for p in points]
    others = [p for p in points if p["method"] not in OURS
              and p["speedup"] is not None and quality(p) is not None]
    result = []
    for point in points:
        if (point["method"] in OURS and point["speedup"] is not None
                and point["speedup"] > SPEEDUP_MARK and quality(point) is not None):
            result.append((point, not dominated(point, others)))
    return result


def frontier_threshold(points):
    """The speedup from which MADDNESS should hold the frontier: min(SPEEDUP_MARK, half the
    panel's ceiling), or SPEEDUP_MARK when the panel has no measured ceiling."""
    ceilings = [p["speedup_ceiling"] for p in points if p.get("speedup_ceiling")]
    if not ceilings:
        return SPEEDUP_MARK
    return min(SPEEDUP_MARK, min(ceilings) / 2.0)


def frontier_gaps(points, threshold):
    """The points of other methods at a speedup of at least `threshold` that no point of the
    library (LIBRARY: any variant of its tables) matches, i.e. is at least as fast and at least as
    good: a list of (point, best library point at least as fast or None). Empty when the library
    holds the speed-accuracy frontier at every speedup from `threshold` on that any method
    reaches."""
    usable = [p for p in points if p["speedup"] is not None and quality(p) is not None]
    ours = [p for p in usable if p["method"] in LIBRARY]
    gaps = []
    for point in usable:
        if point["method"] in LIBRARY or point["speedup"] < threshold:
            continue
        faster = [q for q in ours if q["speedup"] >= point["speedup"]]
        best = max(faster, key=quality) if faster else None
        if best is None or quality(best) < quality(point):
            gaps.append((point, best))
    return gaps


CODEBOOK_GRID = (2, 4, 8, 16, 32, 64)


def bolt_ratios(points):
    """{C: (Bolt's time / MADDNESS's time, Bolt's encode_ms or None)} at each C both have."""
    times = {}
    for point in points:
        if point["method"] in ("MADDNESS", "Bolt") and point.get("codebooks") and point.get(
                "time_ms"):
            times[(point["method"], point["codebooks"])] = point
    ratios = {}
    for c in CODEBOOK_GRID:
        ours, bolt = times.get(("MADDNESS", c)), times.get(("Bolt", c))
        if ours and bolt:
            ratios[c] = (bolt["time_ms"] / ours["time_ms"], bolt.get("encode_ms"))
    return ratios


def format_number(value, digits=4):
    if value is None:
        return "-"
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "-"
    return "%.*f" % (digits, value)


def machine_markdown(settings, tasks):
    """What ran: the CPU, the library's SIMD target and, per task, the fastest exact product."""
    lines = ["## Machine", ""]
    lines.append("- CPU: %s" % settings.get("cpu", "not recorded"))
    lines.append("- SIMD target of maddness's kernels: %s" % settings.get("target", "not recorded"))
    lines.append("- Threads of every timed product: %s" % settings.get("threads", "-"))
    libraries = []
    for points in tasks.values():
        for point in points:
            if point["method"] == "Exact" and point.get("library") not in (None, "", *libraries):
                libraries.append(point["library"])
    for library in libraries:
        lines.append("- Exact product: %s" % library)
    lines.append("")
    reference = [(task, points[0]) for task, points in tasks.items()
                 if points[0].get("exact_library")]
    if not reference:
        return lines
    lines.append("| task | fastest exact product (the speedups' reference) | layout of A | ms |")
    lines.append("|---|---|---|---|")
    for task, first in reference:
        lines.append("| %s | %s | %s-major | %s |" % (
            task, first["exact_library"], first["exact_layout"],
            format_number(first["exact_time_ms"])))
    lines.append("")
    return lines


def summary_markdown(settings, tasks):
    lines = ["# Experiment summary", ""]
    lines.append("Settings: `%s`" % json.dumps(settings, sort_keys=True))
    lines.append("")
    lines += machine_markdown(settings, tasks)
    lines.append("## Acceptance")
    lines.append("")
    lines.append("MADDNESS: either variant of its tables; \"(classifier)\" marks the "
                 "classifier-aware tables.")
    lines.append("")
    lines.append("| task | MADDNESS points above %gx | on the Pareto frontier | "
                 "C where MADDNESS's NMSE > MADDNESS-PQ's | with the paper's timing: above "
                 "%gx, on the frontier | ceiling: exact time / time to write the float32 "
                 "output |" % (SPEEDUP_MARK, SPEEDUP_MARK))
    lines.append("|---|---|---|---|---|---|")
    for task, points in tasks.items():
        checks = pareto_check(points)
        frontier = [label(p) for p, ok in checks if ok]
        raw_checks = pareto_check(points, "speedup_raw")
        raw = "%s; %s" % (", ".join(label(p) for p, _ in raw_checks) or "none",
                          ", ".join(label(p) for p, ok in raw_checks if ok) or "**none**")
        worse = []
        nmse_pq = {p["codebooks"]: p["nmse"] for p in points
                   if p["method"] == "MADDNESS-PQ" and p["nmse"] is not None}
        for point in points:
            if point["method"] == "MADDNESS" and point["nmse"] is not None:
                pq = nmse_pq.get(point["codebooks"])
                if pq is not None and point["nmse"] > pq:
                    worse.append("C=%d (%.4f > %.4f)" % (point["codebooks"], point["nmse"], pq))
        ceilings = [p["speedup_ceiling"] for p in points if p.get("speedup_ceiling")]
        ceiling = "%.1fx" % min(ceilings) if ceilings else "-"
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            task, ", ".join(label(p) for p, _ in checks) or "none",
            ", ".join(frontier) or "**none**", ", ".join(worse) or "none", raw, ceiling))
    lines.append("")
    lines.append("## The frontier from min(%gx, half the ceiling)" % SPEEDUP_MARK)
    lines.append("")
    lines.append("Whether MADDNESS (any variant of its tables: ridge prototypes, bucket means as "
                 "MADDNESS-PQ, or classifier-aware) is on the speed-accuracy frontier at every "
                 "speedup of at least min(%gx, half the panel's ceiling) that any method reaches: "
                 "every other method's point there must be matched by a MADDNESS point at least as "
                 "fast and at least as good." % SPEEDUP_MARK)
    lines.append("")
    lines.append("| task | from | points of other methods there | holds | not matched (best "
                 "MADDNESS at least as fast) |")
    lines.append("|---|---|---|---|---|")
    for task, points in tasks.items():
        threshold = frontier_threshold(points)
        there = [p for p in points if p["method"] not in LIBRARY and p["speedup"] is not None
                 and quality(p) is not None and p["speedup"] >= threshold]
        gaps = frontier_gaps(points, threshold)
        missed = []
        for point, best in gaps:
            if best is None:
                missed.append("%s %s: %s at %.1fx (no MADDNESS point that fast)" % (
                    point["method"], point["params"], format_number(quality(point)),
                    point["speedup"]))
            else:
                missed.append("%s %s: %s at %.1fx (%s %s: %s at %.1fx, short by %s)" % (
                    point["method"], point["params"], format_number(quality(point)),
                    point["speedup"], best["method"], best["params"], format_number(quality(best)),
                    best["speedup"], format_number(quality(point) - quality(best))))
        lines.append("| %s | %.1fx | %d | %s | %s |" % (
            task, threshold, len(there), "yes" if not gaps else "**no**",
            "; ".join(missed) or "-"))
    lines.append("")
    lines.append("## MADDNESS's speed over Bolt's at equal C")
    lines.append("")
    lines.append("Bolt's time over MADDNESS's (default tables), each in its faster layout of A; "
                 "Bolt's encoding alone in parentheses (ms).")
    lines.append("")
    lines.append("| task | " + " | ".join("C=%d" % c for c in CODEBOOK_GRID) + " |")
    lines.append("|---|" + "---|" * len(CODEBOOK_GRID))
    for task, points in tasks.items():
        ratios = bolt_ratios(points)
        if not ratios:
            continue
        cells = []
        for c in CODEBOOK_GRID:
            if c not in ratios:
                cells.append("-")
                continue
            ratio, encode_ms = ratios[c]
            cells.append("%.1fx%s" % (ratio, " (%.3f)" % encode_ms if encode_ms else ""))
        lines.append("| %s | %s |" % (task, " | ".join(cells)))
    lines.append("")
    lines.append("## MADDNESS against 8-bit scalar quantization")
    lines.append("")
    lines.append("One row per int8 form (A quantized per row at run time, or static per-tensor "
                 "with the scale calibrated on A_train).")
    lines.append("")
    lines.append("| task | int8 form | metric | int8 speedup | int8 value | best MADDNESS at >= "
                 "int8's speed | fastest MADDNESS at >= int8's value |")
    lines.append("|---|---|---|---|---|---|---|")
    for task, points in tasks.items():
        int8 = [p for p in points if p["method"] == "ScalarQuantize" and quality(p) is not None]
        ours = [p for p in points if p["method"] in OURS and quality(p) is not None]
        if not int8 or not ours:
            continue
        for q in sorted(int8, key=lambda p: p["params"]):
            faster = [p for p in ours if p["speedup"] >= q["speedup"]]
            best = max(faster, key=quality) if faster else None
            as_good = [p for p in ours if quality(p) >= quality(q)]
            fastest = max(as_good, key=lambda p: p["speedup"]) if as_good else None
            # The form is the params' first part ("int8 per-row", "int8 static per-tensor").
            lines.append("| %s | %s | %s | %.1fx | %s | %s | %s |" % (
                task, q["params"].split(",")[0], quality_name(points), q["speedup"],
                format_number(quality(q)),
                "%s: %s at %.1fx" % (label(best), format_number(quality(best)), best["speedup"])
                if best else "none",
                "%s: %s at %.1fx" % (label(fastest), format_number(quality(fastest)),
                                     fastest["speedup"]) if fastest else "none"))
    lines.append("")
    lines.append("## Every point")
    for task, points in tasks.items():
        lines.append("")
        lines.append("### %s" % task)
        lines.append("")
        first = points[0]
        if first["group"] == "ucr-summary":
            lines.append("| method | params | mean relative accuracy | > 0.5 | > 0.75 | > 0.95 "
                         "| speedup (geometric mean) | same, both row-major |")
            lines.append("|---|---|---|---|---|---|---|---|")
            for p in points:
                lines.append("| %s | %s | %s | %s | %s | %s | %.2f | %s |" % (
                    p["method"], p["params"], format_number(p["relative_accuracy"]),
                    format_number(p["frac_above_0.5"], 2), format_number(p["frac_above_0.75"], 2),
                    format_number(p["frac_above_0.95"], 2), p["speedup"],
                    format_number(p.get("speedup_row"), 2)))
            continue
        lines.append("A_train %d x %d, A_test %d x %d, B %d x %d; timed on %d rows%s." % (
            first["n_train"], first["d"], first["n_test"], first["d"], first["d"], first["m"],
            first["timed_rows"],
            " (" + first["timing_note"] + ")" if first["timing_note"] else ""))
        lines.append("")
        lines.append("| method | params | NMSE | accuracy | time (ms) | layout of A | speedup "
                     "| speedup, both row-major | library |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for p in points:
            lines.append("| %s | %s | %s | %s | %.4f | %s | %.2f | %s | %s |" % (
                p["method"], p["params"], format_number(p["nmse"]),
                format_number(p["accuracy"]), p["time_ms"], p.get("layout", "row"),
                p["speedup"], format_number(p.get("speedup_row"), 2),
                p.get("library") or "-"))
    return "\n".join(lines) + "\n"


def plot(tasks, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(tasks)
    columns = min(4, len(names))
    rows = (len(names) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows),
                                squeeze=False)
    for index, task in enumerate(names):
        axis = axes[index // columns][index % columns]
        points = tasks[task]
        for method in METHOD_ORDER + sorted({p["method"] for p in points} - set(METHOD_ORDER)):
            series = [p for p in points if p["method"] == method
                      and p["speedup"] is not None and quality(p) is not None]
            if not series:
                continue
            color, marker = METHOD_STYLE.get(method, ("gray", "x"))
            # Joined in the order of the method's parameter (C or d), as in the paper.
            series.sort(key=lambda p: (p["codebooks"] or p["sketch_dim"] or 0, p["speedup"]))
            axis.plot([p["speedup"] for p in series], [quality(p) for p in series],
                      color=color, marker=marker, markersize=5 if method != "Exact" else 9,
                      linestyle="-" if len(series) > 1 and method != "Exact" else "none",
                      linewidth=1, label=method,
                      # MADDNESS on top: where it keeps the bucket means, its points are
                      # MADDNESS-PQ's and would otherwise be hidden under them.
                      zorder=3 if method in OURS else 2)
        axis.set_xscale("log")
        axis.axvline(1.0, color="gray", linestyle="--", linewidth=0.8)
        axis.axvline(SPEEDUP_MARK, color="gray", linestyle=":", linewidth=0.8)
        # The task's ceiling (exact time / time to write the float32 output), where it falls
        # within a few times the fastest point: no method writing that output can pass it.
        ceilings = [p["speedup_ceiling"] for p in points if p.get("speedup_ceiling")]
        fastest = max((p["speedup"] for p in points if p["speedup"] is not None), default=None)
        if ceilings and fastest and min(ceilings) <= 5 * fastest:
            axis.axvline(min(ceilings), color="firebrick", linestyle="-.", linewidth=0.9,
                         label="ceiling: writing the float32 output")
        values = [quality(p) for p in points if quality(p) is not None]
        top = max(values)
        # Sketches can be far worse than everything else (1 - NMSE < 0): keep the informative
        # range, with the exact product near the top.
        axis.set_ylim(max(min(values), 0.0) - 0.02, top + 0.02 * max(abs(top), 0.1))
        axis.set_title(task, fontsize=10)
        axis.set_xlabel("speedup over exact (log)", fontsize=8)
        axis.set_ylabel(quality_name(points), fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(True, which="major", linewidth=0.3)
    for index in range(len(names), rows * columns):
        axes[index // columns][index % columns].axis("off")
    handles, labels = [], []
    for row in axes:
        for axis in row:
            for handle, label in zip(*axis.get_legend_handles_labels()):
                if label not in labels:
                    handles.append(handle)
                    labels.append(label)
    figure.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9,
                  frameon=False)
    figure.tight_layout(rect=(0, 0.05 if rows > 1 else 0.1, 1, 1))
    for extension in ("png", "svg"):
        figure.savefig(os.path.join(out_dir, "results." + extension), dpi=110)
    plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", help="folder with results.json")
    parser.add_argument("--out", help="folder for the figures and summary.md "
                        "(default: RESULTS_DIR)")
    parser.add_argument("--no-plots", action="store_true",
                        help="write summary.md only (no matplotlib needed)")
    args = parser.parse_args()
    out_dir = args.out or args.results_dir
    if not os.path.isdir(out_dir):
        sys.exit("plot_results: --out %s: not a folder" % out_dir)
    settings, points = load(args.results_dir)
    tasks = by_task(points)
    with open(os.path.join(out_dir, "summary.md"), "w") as handle:
        handle.write(summary_markdown(settings, tasks))
    if not args.no_plots:
        try:
            plot(tasks, out_dir)
        except ImportError:
            sys.exit("plot_results: matplotlib is missing; install python3-matplotlib "
                     "(bash scripts/install-deps.sh) or pass --no-plots")
    print("plot_results: wrote %s" % ", ".join(
        os.path.join(out_dir, name) for name in
        (["summary.md"] if args.no_plots else ["results.png", "results.svg", "summary.md"])))


if __name__ == "__main__":
    main()
