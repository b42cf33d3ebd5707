#!/usr/bin/env python3
"""Where the writes' time goes (issue 7): W1 and W2 with parts of the write path removed.

W1 (RDS TagResources, 1 resource x 5 tags, 64 connections, V1-signed) and W2 (50 resources x
20 tags, 16 connections, as in bench/suite.py) are run, on copies of one loaded dataset, against:
  - `tagd`      the release build of this tree, as shipped;
  - `no-index`  a build with bench/ceiling.patch applied and TAGD_CEILING=no-index: the store
                writes the resource's record and the log as usual but leaves both tag indexes
                as they are (so queries would be wrong: an experiment only);
  - `no-store`  the same build with TAGD_CEILING=no-store: the change set is built and checked
                as usual, then acknowledged without reaching the store (no record, no log, no
                fsync): HTTP + signature + parameters + rules, and nothing else;
and the same load generator runs against the unsigned `/healthz` (the HTTP ceiling). Each round
runs every run once, one after the other, so each round's ratios come from the same few minutes
of this shared machine. The patched build never ships: it lives in a temporary
git worktree and its own target directory (`<CARGO_TARGET_DIR>-ceiling`).

Raw tagd-bench JSON: bench/results/ceiling-<round>-<run>.json; the summary:
bench/results/ceiling-summary.json; a markdown table on stdout.

Usage: bench/ceiling.py [--rounds 3] [--secs 8] [--warmup 2] [--resources 10000] [--skip-build]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import RESULTS, ROOT, Tagd, log, tagd_bench  # noqa: E402

PATCH = ROOT / "bench" / "ceiling.patch"
# (name, variant, workload, connections); the W1 runs' share is of the same round's /healthz.
RUNS = (
    ("healthz", "healthz", "healthz", 64),
    ("W1 tagd", "tagd", "tag", 64),
    ("W1 no-index", "no-index", "tag", 64),
    ("W1 no-store", "no-store", "tag", 64),
    ("W2 tagd", "tagd", "tag-batch", 16),
    ("W2 no-index", "no-index", "tag-batch", 16),
    ("W2 no-store", "no-store", "tag-batch", 16),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--secs", type=float, default=8)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--resources", type=int, default=10000)
    parser.add_argument("--skip-build", action="store_true", help="of the shipped build only")
    return parser.parse_args()


def ceiling_target_dir():
    main = benchlib.target_dir()
    return main.parent / (main.name + "-ceiling")


def build_patched():
    """Builds tagd with bench/ceiling.patch in a temporary worktree; returns the binary."""
    target = ceiling_target_dir()
    if not target.exists() and (benchlib.target_dir() / "release").exists():
        # The dependencies are the same: start from the shipped build's, not from nothing.
        log(f"seeding {target} from {benchlib.target_dir()} ...")
        shutil.copytree(benchlib.target_dir() / "release", target / "release", symlinks=True)
    worktree = Path(tempfile.mkdtemp(prefix="tagd-ceiling-"))
    try:
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), "HEAD"],
                       cwd=ROOT, check=True, capture_output=True)
        applied = subprocess.run(["git", "apply", str(PATCH)], cwd=worktree,
                                 capture_output=True, text=True, check=False)
        if applied.returncode != 0:
            raise RuntimeError(
                f"bench/ceiling.patch no longer applies to HEAD: {applied.stderr.strip()}")
        log(f"building the patched tagd into {target} ...")
        env = dict(os.environ, CARGO_TARGET_DIR=str(target))
        subprocess.run(["cargo", "build", "--release", "--locked", "-p", "tagd"],
                       cwd=worktree, env=env, check=True)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(worktree)],
                       cwd=ROOT, check=False, capture_output=True)
        shutil.rmtree(worktree, ignore_errors=True)
    return target / "release" / "tagd"


def run_variant(args, variant, workload, connections, dataset, patched, out_json):
    work = Path(tempfile.mkdtemp(prefix=f"tagd-ceiling-{variant}-"))
    try:
        data = work / "data"
        shutil.copytree(dataset, data)
        program = None if variant in ("healthz", "tagd") else patched
        env = {"TAGD_CEILING": variant} if program else {}
        with Tagd(data, program=program, env=env) as server:
            server.start()
            extra = () if workload == "healthz" else ("--manifest", str(data))
            return tagd_bench(server, workload, out_json, connections=connections,
                              secs=args.secs, warmup=args.warmup, extra=extra)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summary_of(run):
    latency = run["latency_us"]
    return {
        "ok_per_s": run["throughput_rps"],
        "tags_per_s": run.get("tags_per_second"),
        "server_us_per_ok": (run.get("server_cpu") or {}).get("us_per_ok"),
        "server_cores": (run.get("server_cpu") or {}).get("cores_used"),
        "server_threads_cores": run.get("server_threads_cores"),
        "client_cores": run["client_cpu"]["cores_used"],
        "other_cores": run["machine"]["other_cores"],
        "p50_ms": latency["p50"] / 1000,
        "p99_ms": latency["p99"] / 1000,
    }


def main():
    args = parse_args()
    if not args.skip_build:
        benchlib.build()
    patched = build_patched()
    RESULTS.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="tagd-ceiling-data-"))
    rounds = []
    try:
        dataset = root / "dataset"
        benchlib.load_dataset(dataset, args.resources, 10, 7)
        for number in range(1, args.rounds + 1):
            row = {}
            for name, variant, workload, connections in RUNS:
                slug = name.lower().replace(" ", "-")
                out = RESULTS / f"ceiling-{number}-{slug}.json"
                row[name] = summary_of(run_variant(args, variant, workload, connections,
                                                   dataset, patched, out))
            healthz = row["healthz"]["ok_per_s"]
            for name in row:
                row[name]["share_of_healthz"] = round(row[name]["ok_per_s"] / healthz, 4)
            rounds.append(row)
            log(f"round {number}: " + ", ".join(
                f"{n} {row[n]['ok_per_s']:,.0f}/s ({row[n]['share_of_healthz']:.1%})"
                for n in row))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    medians = {}
    for name, *_ in RUNS:
        def median(field):
            values = [r[name][field] for r in rounds if r[name].get(field) is not None]
            return statistics.median(values) if values else None
        medians[name] = {field: median(field) for field in (
            "ok_per_s", "tags_per_s", "share_of_healthz", "server_us_per_ok")}
    summary = {
        "machine": benchlib.machine(),
        "args": vars(args),
        "rounds": rounds,
        "medians": medians,
    }
    benchlib.write_json(RESULTS / "ceiling-summary.json", summary)
    print(f"{args.resources:,} resources, {args.rounds} rounds, the median of each "
          "(W1's share is of the same round's /healthz)\n")
    print("| run | calls/s | tags/s | share of /healthz | server µs/call |")
    print("|---|---|---|---|---|")
    for name, *_ in RUNS:
        m = medians[name]
        tags = f"{m['tags_per_s']:,.0f}" if m["tags_per_s"] else ""
        share = f"{m['share_of_healthz']:.1%}" if not name.startswith("W2") else ""
        print(f"| {name} | {m['ok_per_s']:,.0f} | {tags} | {share} | "
              f"{m['server_us_per_ok'] or 0:,.0f} |")


if __name__ == "__main__":
    main()
