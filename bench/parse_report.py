#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""The parser micro-benchmark (make bench-parse): timings and callgrind
instruction counts of ftp-sym's parser and of the stock helper's matching
on the same inputs, a linear fit of cost against bytes, a table and JSON.

  parse_report.py --bin build/parse_bench [--calls N] [--json-dir DIR]
                  [--markdown]

Columns: ns per call (best of 7 runs; this machine, noisy), instructions
per call (callgrind, exact and repeatable: Ir of N calls minus Ir of N
calls of an empty function, divided by N) for
  sym     ftp-sym, every line of the input
  stock   the stock helper as it runs: segment start only
  stockl  the stock matching at every line start
Fit: Ir = a + b * bytes over the non-matching lines of 16 to 1024 bytes
("linear" inputs), per function, with R^2.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

FNS = ("sym", "stock", "stockl")


def parse_inputs(text):
    rows = {}
    order = []
    for line in text.splitlines():
        w = line.split()
        if len(w) < 4:
            continue
        row = {"name": w[0], "group": w[1]}
        for kv in w[2:]:
            k, _, v = kv.partition("=")
            row[k] = float(v) if "." in v else int(v)
        rows[w[0]] = row
        order.append(w[0])
    return rows, order


def callgrind(binary, calls):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "cg.out")
        r = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
             binary, "callgrind", str(calls)],
            capture_output=True, text=True, check=False)
        if r.returncode != 0:
            sys.exit("parse_report: valgrind failed:\n" + r.stderr[-2000:])
        counts = {}
        for path in glob.glob(out + "*"):
            label = total = None
            with open(path) as f:
                for line in f:
                    m = re.match(r"desc: Trigger: Client Request: (.*)$", line)
                    if m:
                        label = m.group(1).strip()
                    m = re.match(r"(?:totals|summary): (\d+)", line)
                    if m:
                        total = int(m.group(1))
            if label and total is not None:
                counts[label] = total
        return r.stdout, counts


def fit(points):
    n = len(points)
    if n < 2:
        return None
    sx = sum(x for x, _ in points)
    sy = sum(y for _, y in points)
    sxx = sum(x * x for x, _ in points)
    sxy = sum(x * y for x, y in points)
    den = n * sxx - sx * sx
    if den == 0:
        return None
    b = (n * sxy - sx * sy) / den
    a = (sy - b * sx) / n
    mean = sy / n
    ss_tot = sum((y - mean) ** 2 for _, y in points)
    ss_res = sum((y - (a + b * x)) ** 2 for x, y in points)
    r2 = 1.0 if ss_tot == 0 else 1 - ss_res / ss_tot
    return {"a": round(a, 1), "b_per_byte": round(b, 3), "r2": round(r2, 4)}


def table(rows, order, markdown):
    head = ["input", "group", "bytes", "lines"]
    head += ["%s ns" % f for f in FNS] + ["%s Ir" % f for f in FNS]
    head += ["sym Ir/byte"]
    out_rows = []
    for name in order:
        r = rows[name]
        cells = [name, r["group"], str(r["bytes"]), str(r["lines"])]
        cells += ["%.1f" % r[f] for f in FNS]
        cells += ["%d" % r["ir_" + f] for f in FNS]
        cells += ["%.2f" % (r["ir_sym"] / r["bytes"])]
        out_rows.append(cells)
    lines = []
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" for _ in head) + "|")
        lines += ["| " + " | ".join(c) + " |" for c in out_rows]
    else:
        w = [max(len(r[i]) for r in out_rows + [head]) for i in range(len(head))]
        for r in [head] + out_rows:
            lines.append("  ".join(r[i].rjust(w[i]) if i > 1 else r[i].ljust(w[i])
                                   for i in range(len(head))))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--json-dir")
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()

    timed = subprocess.run([a.bin, "time"], capture_output=True, text=True,
                           check=True).stdout
    rows, order = parse_inputs(timed)
    listing, counts = callgrind(a.bin, a.calls)
    base = counts.get("base -")
    if base is None:
        sys.exit("parse_report: no callgrind baseline dump")
    for name in order:
        for f in FNS:
            ir = counts.get("%s %s" % (f, name))
            if ir is None:
                sys.exit("parse_report: no callgrind dump for %s %s" % (f, name))
            rows[name]["ir_" + f] = round((ir - base) / a.calls)
    fits = {}
    for f in FNS:
        pts = [(rows[n]["bytes"], rows[n]["ir_" + f]) for n in order
               if rows[n]["group"] == "linear"]
        fits[f] = fit(pts)
        fits[f + "_ns"] = fit([(rows[n]["bytes"], rows[n][f]) for n in order
                               if rows[n]["group"] == "linear"])
    print(table(rows, order, a.markdown))
    print()
    for f in FNS:
        ft = fits[f]
        if ft:
            print("fit %-6s Ir = %.1f + %.3f * bytes (R^2 %.4f)"
                  % (f, ft["a"], ft["b_per_byte"], ft["r2"]))
    if a.json_dir:
        os.makedirs(a.json_dir, exist_ok=True)
        path = os.path.join(a.json_dir, "parse-%s.json" % time.strftime("%Y%m%d-%H%M"))
        with open(path, "w") as fp:
            json.dump({"schema": 1, "calls": a.calls,
                       "inputs": [rows[n] for n in order], "fits": fits,
                       "host_cpu": cpu_model()}, fp, indent=1)
            fp.write("\n")
        print("wrote %s" % path)
    del listing
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
