#!/usr/bin/env python3
"""Merges the per-scenario JSON files of `mrealm bench <scenario> --json` (one per master) into
one side-by-side table with ratios, and writes them all to one result file.

usage: master-compare.py OUT.json RESULTS_DIR [--mode quick|full] [--machine TEXT] [--load TEXT]

RESULTS_DIR holds <target>-<scenario>[-suffix].json ("target" is mrealm or crossbar) and,
optionally, router.json from bench/router-compare.py. The "advantage" column is how many times
better mrealm is: crossbar/mrealm for costs (latency, CPU, memory, time), mrealm/crossbar for
rates; below 1 means crossbar is better.
"""
import argparse
import glob
import json
import os
import sys
import time

# scenario -> (fields naming a row, [(metric key, title, format, higher is better)])
SPECS = {
    "mgmt": (("procedure", "mode"), [
        ("calls_per_s", "calls/s", "{:.0f}", True),
        ("latency_p50_ms", "p50 ms", "{:.3f}", False),
        ("latency_p99_ms", "p99 ms", "{:.3f}", False),
        ("master_cpu_ms_per_call", "master CPU ms/call", "{:.4f}", False),
    ]),
    "idle": (("nodes",), [
        ("rss_mib", "RSS MiB", "{:.1f}", False),
        ("cpu_pct_of_core", "CPU % of a core", "{:.2f}", False),
    ]),
    "ingest": (("nodes",), [
        ("max_stored_rate", "max heartbeats/s all stored", "{:.0f}", True),
        ("max_processed_rate", "max heartbeats/s all processed", "{:.0f}", True),
        ("get_node_p99_ms", "get_node p99 ms at that rate", "{:.3f}", False),
    ]),
    "scale": (("nodes",), [
        ("online", "nodes online", "{:.0f}", True),
        ("online_s", "time until all online s", "{:.2f}", False),
        ("rss_per_node_kib", "RSS KiB/node", "{:.1f}", False),
        ("rss_mib", "RSS MiB", "{:.1f}", False),
        ("registrations", "registrations held", "{:.0f}", True),
    ]),
    "liveness": (("event",), [
        ("p50_ms", "p50 ms", "{:.1f}", False),
        ("max_ms", "max ms", "{:.1f}", False),
    ]),
}


def load(results_dir):
    """{scenario: {target: [docs]}} and the raw docs."""
    by, raw = {}, []
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        if os.path.basename(path) == "router.json":
            continue
        with open(path) as f:
            doc = json.load(f)
        raw.append(doc)
        by.setdefault(doc["scenario"], {}).setdefault(doc["target"], []).append(doc)
    return by, raw


def enrich(row):
    """Derived metrics (MiB, KiB per node)."""
    if "rss_bytes" in row:
        row["rss_mib"] = row["rss_bytes"] / 2**20
        if row.get("online"):
            row["rss_per_node_kib"] = row.get("rss_delta_bytes", row["rss_bytes"]) / 1024 / row["online"]
    return row


def rows_of(docs, keys):
    out = {}
    for doc in docs:
        for r in doc["results"]:
            out[tuple(str(r.get(k, "")) for k in keys)] = enrich(dict(r))
    return out


def fmt(v, pattern):
    return "-" if v is None else pattern.format(v)


def compare(by):
    lines, table = [], {}
    for scenario, (keys, metrics) in SPECS.items():
        if scenario not in by:
            continue
        m = rows_of(by[scenario].get("mrealm", []), keys)
        c = rows_of(by[scenario].get("crossbar", []), keys)
        for key in list(m) + [k for k in c if k not in m]:
            mr, cr = m.get(key, {}), c.get(key, {})
            for mk, title, pattern, higher in metrics:
                mv, cv = mr.get(mk), cr.get(mk)
                if mv is None and cv is None:
                    continue
                adv = None
                if mv is not None and cv is not None and mv and cv:
                    adv = mv / cv if higher else cv / mv
                name = " ".join(key)
                lines.append((scenario, name, title, fmt(mv, pattern), fmt(cv, pattern),
                              fmt(adv, "{:.1f}x")))
                table.setdefault(scenario, {}).setdefault(name, {})[mk] = {
                    "mrealm": mv, "crossbar": cv, "advantage": adv}
    return lines, table


def router_lines(results_dir):
    path = os.path.join(results_dir, "router.json")
    if not os.path.exists(path):
        return [], None
    with open(path) as f:
        doc = json.load(f)
    lines = []
    for scenario, metrics in doc.get("comparison", {}).items():
        for key, v in metrics.items():
            r = v.get("ratio")
            higher = key.endswith("_per_s")
            adv = (r if higher else (1 / r if r else None)) if r else None
            lines.append(("router", scenario, key, fmt(v.get("mrealm"), "{:.4g}"),
                          fmt(v.get("crossbar"), "{:.4g}"), fmt(adv, "{:.1f}x")))
    return lines, doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("results_dir")
    ap.add_argument("--mode", default="quick")
    ap.add_argument("--machine", default="")
    ap.add_argument("--load", default="")
    a = ap.parse_args()
    by, raw = load(a.results_dir)
    lines, table = compare(by)
    rlines, router = router_lines(a.results_dir)
    lines += rlines
    print(f"\nmaster benchmarks ({a.mode} run; {a.machine}; load {a.load})")
    head = ("scenario", "case", "metric", "mrealm", "crossbar", "mrealm advantage")
    widths = [max(len(str(r[i])) for r in lines + [head]) for i in range(6)]
    for r in [head] + lines:
        print("  ".join(str(v).ljust(w) if i < 3 else str(v).rjust(w)
                        for i, (v, w) in enumerate(zip(r, widths))))
    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "mode": a.mode, "machine": a.machine,
           "load": a.load, "comparison": table, "router": router, "runs": raw}
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
