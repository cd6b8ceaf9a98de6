#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""Runs of the keep-alive worker in an ftrace text dump.

  ka_trace.py TRACE [MODULE]

TRACE holds workqueue_execute_start/_end and sched_switch events (the
"trace" file of tracefs).  A run is one execution of a work item whose
function belongs to MODULE (default nf_conntrack_ftp_sym: "%ps" prints it
as "name [module]"), so the figure does not depend on the function's name.
For each run one line:

  run cpu=N wall_ms=W oncpu_ms=O hold_ms=H

wall: execute_start to execute_end; oncpu: the time the worker's task ran
in between (sched_switch away and back split it); hold: the longest of
those stretches, i.e. the longest time the worker kept the CPU from other
tasks.  A last line "runs=N" (0 when the worker never ran).
"""

import re
import sys

LINE = re.compile(r"^\s*(?P<comm>.*?)-(?P<pid>\d+)\s+(?:\(.*?\)\s+)?\[(?P<cpu>\d+)\]"
                  r"\s+\S+\s+(?P<ts>\d+\.\d+):\s+(?P<event>\w+):\s+(?P<rest>.*)$")
SWITCH = re.compile(r"prev_pid=(?P<prev>\d+).*next_pid=(?P<next>\d+)")


def main():
    path = sys.argv[1]
    module = sys.argv[2] if len(sys.argv) > 2 else "nf_conntrack_ftp_sym"
    tag = "[" + module + "]"
    live = {}       # pid -> state of the run under way
    runs = []
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw)
            if not m:
                continue
            pid, ts = int(m["pid"]), float(m["ts"])
            ev, rest = m["event"], m["rest"]
            if ev == "workqueue_execute_start":
                if tag in rest:
                    live[pid] = {"cpu": int(m["cpu"]), "start": ts,
                                 "since": ts, "oncpu": 0.0, "hold": 0.0}
            elif ev == "sched_switch":
                s = SWITCH.search(rest)
                if not s:
                    continue
                prev, nxt = int(s["prev"]), int(s["next"])
                if prev in live and live[prev]["since"] is not None:
                    r = live[prev]
                    seg = ts - r["since"]
                    r["oncpu"] += seg
                    r["hold"] = max(r["hold"], seg)
                    r["since"] = None
                if nxt in live:
                    live[nxt]["since"] = ts
            elif ev == "workqueue_execute_end" and pid in live:
                r = live.pop(pid)
                if r["since"] is not None:
                    seg = ts - r["since"]
                    r["oncpu"] += seg
                    r["hold"] = max(r["hold"], seg)
                runs.append((r["cpu"], ts - r["start"], r["oncpu"], r["hold"]))
    for cpu, wall, oncpu, hold in runs:
        print("run cpu=%d wall_ms=%.3f oncpu_ms=%.3f hold_ms=%.3f"
              % (cpu, wall * 1e3, oncpu * 1e3, hold * 1e3))
    print("runs=%d" % len(runs))


if __name__ == "__main__":
    main()
