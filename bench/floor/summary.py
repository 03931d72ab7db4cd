#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Table of $FLOOR_RESULTS/*.json (default /tmp/vxov-floor/results): runs grouped by configuration (label
minus its round suffix), rounds given as arguments pooled (default: all)."""
import os, glob, json, sys
from collections import defaultdict
def pct(xs, p):
    xs = sorted(xs); k = max(0, min(len(xs) - 1, int(-(-p * len(xs) // 100)) - 1)); return xs[k]
rounds = set(sys.argv[1:])
g = defaultdict(list)
for f in sorted(glob.glob(os.environ.get("FLOOR_RESULTS", "/tmp/vxov-floor/results") + "/*.json")):
    d = json.load(open(f)); cfg, _, rnd = d["label"].rpartition("-")
    if rounds and rnd not in rounds: continue
    g[cfg].append(d)
print(f"{'config':22s} {'n':>3s} {'txn p50/p99':>12s} {'first p50/p99':>14s} {'host p50/p99':>13s} {'all-99 p50/p99/max':>19s} {'srvCPU/chg':>10s} {'others':>7s} loads")
for cfg, ds in sorted(g.items(), key=lambda x: (x[1][0]["stale"], (x[1][0].get("size") or "block") != "block", x[1][0].get("size") or "block", x[1][0]["k"], x[0])):
    rows = [r for d in ds for r in d["rows"]]
    txn = [r["txn_ms"] for r in rows]; fi = [r["first_ms"] for r in rows]; al = [r["all_ms"] for r in rows]
    hp50 = sum(d["hostcomplete_pooled_p50"] for d in ds) / len(ds)	# mean over runs of each run's
    hp99 = sum(d["hostcomplete_pooled_p99"] for d in ds) / len(ds)	# pooled (hosts x changes) p50/p99
    cpu = sum(d["server_cpu_ms_per_change"] * d["changes"] for d in ds) / len(rows)
    oth = max(d.get("others_busy_frac", float("nan")) for d in ds)
    print(f"{cfg:22s} {len(rows):3d} {pct(txn,50):5.1f}/{pct(txn,99):<6.1f} {pct(fi,50):6.1f}/{pct(fi,99):<7.1f} {hp50:5.1f}/{hp99:<7.1f} {pct(al,50):5.0f}/{pct(al,99):4.0f}/{max(al):<5.0f}   {cpu:6.0f} ms {oth:6.0%}  "
          + " ".join(d["load_at_start"].split("/")[0] for d in ds))
