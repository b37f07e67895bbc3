#!/usr/bin/env python3
"""Merges `mrealm bench router --json` files of two routers into one side-by-side table.

usage: router-compare.py OUT.json FILE.json... [--machine TEXT]

Each input holds one router's results (its "label" says which: "mrealm" or "crossbar"). Prints
the figures of both routers per scenario with the ratio mrealm/crossbar and writes them all,
with the raw inputs, to OUT.json.
"""
import argparse
import json
import sys
import time

# (key in a result, column title, format, higher is better)
METRICS = [
    ("ops_per_s", "ops/s", "{:.0f}", True),
    ("events_per_s", "events/s", "{:.0f}", True),
    ("latency_p50_ms", "p50 ms", "{:.3f}", False),
    ("latency_p99_ms", "p99 ms", "{:.3f}", False),
    ("router_cpu_s", "router CPU s", "{:.2f}", False),
    ("router_cpu_s_per_1k_ops", "CPU s/1k ops", "{:.5f}", False),
    ("router_cpu_s_per_1k_events", "CPU s/1k events", "{:.5f}", False),
    ("bench_cpu_s", "load-gen CPU s", "{:.2f}", False),
]


def load(paths):
    """{label: {scenario: result}} plus the run parameters of the first file."""
    by_label, params, raw = {}, None, []
    for path in paths:
        with open(path) as f:
            doc = json.load(f)
        raw.append(doc)
        if params is None:
            params = {k: v for k, v in doc.items() if k not in ("results", "label", "url", "router_pids")}
        for r in doc["results"]:
            by_label.setdefault(doc["label"], {})[r["scenario"]] = r
    return by_label, params, raw


def fmt(v, pattern):
    return "-" if v is None else pattern.format(v)


def compare(by_label):
    """Rows of (scenario, title, mrealm, crossbar, ratio) and a dict for the JSON."""
    rows, out = [], {}
    m, c = by_label.get("mrealm", {}), by_label.get("crossbar", {})
    for scenario in sorted(set(m) | set(c), key=["rpc", "pubsub"].index):
        mr, cr = m.get(scenario, {}), c.get(scenario, {})
        for key, title, pattern, _ in METRICS:
            mv, cv = mr.get(key), cr.get(key)
            if mv is None and cv is None:
                continue
            ratio = mv / cv if mv is not None and cv else None
            rows.append((scenario, title, fmt(mv, pattern), fmt(cv, pattern), fmt(ratio, "{:.2f}x")))
            out.setdefault(scenario, {})[key] = {"mrealm": mv, "crossbar": cv, "ratio": ratio}
    return rows, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--machine", default="")
    a = ap.parse_args()
    by_label, params, raw = load(a.inputs)
    rows, table = compare(by_label)
    print(f"\nrouter throughput, {params['serializer']}, clients={params['clients']} "
          f"window={params['window']} payload={params['payload_bytes']}B, "
          f"{params['duration_s']:.0f}s measured ({a.machine})")
    head = ("scenario", "metric", "mrealm", "crossbar", "mrealm/crossbar")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(5)]
    line = lambda r: "  ".join(str(v).ljust(w) if i < 2 else str(v).rjust(w)
                               for i, (v, w) in enumerate(zip(r, widths)))
    print(line(head))
    for r in rows:
        print(line(r))
    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": a.machine, "params": params,
           "comparison": table, "runs": raw}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
