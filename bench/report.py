#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn the benchmark's records into JSON and a table.

  report.py --log LOG [--json FILE | --json-dir DIR] [--meta KEY=VALUE]...
            [--markdown]
  report.py --table JSON [--markdown]
  report.py --compare JSON... [--markdown]

LOG is what bench/guest printed (through the VM's console): "@bench",
"@meta", "@detail", "@skip" and "@error" lines, anything else ignored.
--json-dir writes DIR/<kernel>-<YYYYMMDD-HHMM>.json.  The table goes to
stdout.  Exit status 1 when the log holds an @error line or no
measurement at all (the harness broke), never because of a number.
--compare prints the ratios of several runs side by side, one column pair
(sym/stock, sym/none) per file.

Each figure and metric gets, per configuration, its values in round order,
rounds, median, min and max; and the ratios of the medians ftp-sym/stock
(ratio_ftpsym_stock) and ftp-sym/no helper (ratio_ftpsym_nohelper).  A
ratio above 1 favours ftp-sym when "better" is "higher", and the other
way round when it is "lower".  A figure F.1cpu next to F adds
scaling_1_to_2cpu (median at 2 CPUs / median at 1 CPU) to F, and a
bytes/session metric adds over_nohelper (bytes beyond no helper).
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

CFGS = ("ftp-sym", "stock", "none")


def kv(words):
    out = {}
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = v
    return out


def number(v):
    try:
        f = float(v)
    except ValueError:
        return None
    return None if math.isnan(f) else f


def parse_log(path):
    meta, recs, details, skipped, errors = {}, [], [], [], []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip().replace("\r", "")
            if not line.startswith("@"):
                continue
            tag, _, rest = line.partition(" ")
            fields = kv(rest.split())
            if tag == "@meta":
                meta.update(fields)
            elif tag == "@bench":
                recs.append(fields)
            elif tag == "@detail":
                details.append(fields)
            elif tag == "@skip":
                skipped.append(fields)
            elif tag == "@error":
                errors.append(fields)
    return meta, recs, details, skipped, errors


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def summarise(recs):
    figs = {}
    order = []
    for r in recs:
        key = (r.get("fig"), r.get("metric"))
        if key not in figs:
            figs[key] = {"figure": key[0], "metric": key[1],
                         "unit": r.get("unit"), "better": r.get("better"),
                         "configs": {}}
            order.append(key)
        cfg = figs[key]["configs"].setdefault(r.get("cfg"), {"values": []})
        cfg["values"].append(number(r.get("value", "nan")))
    for key in order:
        f = figs[key]
        for c in f["configs"].values():
            vals = [v for v in c["values"] if v is not None]
            c["rounds"] = len(c["values"])
            c["median"] = statistics.median(vals) if vals else None
            c["min"] = min(vals) if vals else None
            c["max"] = max(vals) if vals else None
        med = {k: v["median"] for k, v in f["configs"].items()}
        if "ftp-sym" in med and "stock" in med:
            f["ratio_ftpsym_stock"] = ratio(med["ftp-sym"], med["stock"])
        if "ftp-sym" in med and "none" in med:
            f["ratio_ftpsym_nohelper"] = ratio(med["ftp-sym"], med["none"])
        if f["unit"] == "bytes/session" and med.get("none") is not None:
            f["over_nohelper"] = {
                k: (None if v is None else round(v - med["none"]))
                for k, v in med.items() if k != "none"}
    for key in order:
        fig, metric = key
        base = (fig[:-len(".1cpu")], metric) if fig.endswith(".1cpu") else None
        if base in figs and metric == "rate":
            one = figs[key]["configs"]
            two = figs[base]["configs"]
            figs[base]["scaling_1_to_2cpu"] = {
                c: ratio(two[c]["median"], one[c]["median"])
                for c in two if c in one}
    return [figs[k] for k in order]


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return "%.0f" % v
    if a >= 100:
        return "%.1f" % v
    if a >= 1:
        return "%.2f" % v
    return "%.3g" % v


def cell(c):
    if not c or c.get("median") is None:
        return "-"
    if c["rounds"] > 1 and c["min"] != c["max"]:
        return "%s [%s-%s]" % (fmt(c["median"]), fmt(c["min"]), fmt(c["max"]))
    return fmt(c["median"])


def table(figures, markdown):
    head = ["figure", "metric", "unit", "better", "ftp-sym", "stock",
            "no helper", "sym/stock", "sym/none"]
    rows = []
    for f in figures:
        cf = f["configs"]
        rows.append([f["figure"], f["metric"], f["unit"], f["better"],
                     cell(cf.get("ftp-sym")), cell(cf.get("stock")),
                     cell(cf.get("none")),
                     fmt(f.get("ratio_ftpsym_stock")),
                     fmt(f.get("ratio_ftpsym_nohelper"))])
    out = []
    if markdown:
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join("---" for _ in head) + "|")
        for r in rows:
            out.append("| " + " | ".join(r) + " |")
    else:
        w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
        for r in [head] + rows:
            out.append("  ".join(r[i].ljust(w[i]) for i in range(len(head))).rstrip())
    scaling = [(f["figure"], f["scaling_1_to_2cpu"]) for f in figures
               if "scaling_1_to_2cpu" in f]
    for fig, s in scaling:
        out.append("")
        out.append("%s, 1 -> 2 CPUs: %s" % (fig, ", ".join(
            "%s x%s" % (c, fmt(v)) for c, v in s.items())))
    for f in figures:
        if "over_nohelper" in f:
            out.append("")
            out.append("%s %s beyond no helper: %s" % (
                f["figure"], f["unit"], ", ".join(
                    "%s %s" % (c, fmt(v)) for c, v in f["over_nohelper"].items())))
    return "\n".join(out)


def compare(paths, markdown):
    docs = []
    for p in paths:
        with open(p) as f:
            docs.append(json.load(f))
    keys = []
    for d in docs:
        for f in d["figures"]:
            k = (f["figure"], f["metric"])
            if k not in keys:
                keys.append(k)
    head = ["figure", "metric", "better"]
    for d in docs:
        m = d["meta"]
        tag = "%s %s" % (m.get("kernel", "?").split("-")[0],
                         m.get("commit", "?"))
        head += ["%s sym/stock" % tag, "%s sym/none" % tag]
    rows = []
    for k in keys:
        row = [k[0], k[1], "-"]
        for d in docs:
            f = next((x for x in d["figures"]
                      if (x["figure"], x["metric"]) == k), None)
            if f:
                row[2] = f["better"]
            row += [fmt(f.get("ratio_ftpsym_stock")) if f else "",
                    fmt(f.get("ratio_ftpsym_nohelper")) if f else ""]
        rows.append(row)
    if markdown:
        out = ["| " + " | ".join(head) + " |",
               "|" + "|".join("---" for _ in head) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
    else:
        w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
        out = ["  ".join(r[i].ljust(w[i]) for i in range(len(head))).rstrip()
               for r in [head] + rows]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log")
    ap.add_argument("--table")
    ap.add_argument("--compare", nargs="+")
    ap.add_argument("--json")
    ap.add_argument("--json-dir")
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()

    if a.compare:
        print(compare(a.compare, a.markdown))
        return 0
    if a.table:
        with open(a.table) as f:
            doc = json.load(f)
        print(table(doc["figures"], a.markdown))
        return 0
    if not a.log:
        ap.error("--log or --table")

    meta, recs, details, skipped, errors = parse_log(a.log)
    meta.update(kv(a.meta))
    figures = summarise(recs)
    doc = {"schema": 1, "meta": meta, "figures": figures,
           "details": details, "skipped": skipped, "errors": errors}
    path = a.json
    if a.json_dir:
        os.makedirs(a.json_dir, exist_ok=True)
        path = os.path.join(a.json_dir, "%s-%s.json" % (
            meta.get("kernel", "unknown"), time.strftime("%Y%m%d-%H%M")))
    if path:
        with open(path, "w") as f:
            json.dump(doc, f, indent=1, sort_keys=False)
            f.write("\n")
    if figures:
        print(table(figures, a.markdown))
    for s in skipped:
        print("skipped: %s (%s)" % (s.get("fig"), s.get("reason")))
    for e in errors:
        print("error: %s %s: %s" % (e.get("fig"), e.get("cfg"), e.get("what")),
              file=sys.stderr)
    if path:
        print("wrote %s" % path)
    if errors or not figures:
        print("report: the harness failed (%d errors, %d figures)"
              % (len(errors), len(figures)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
