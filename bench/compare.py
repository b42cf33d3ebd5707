#!/usr/bin/env python3
"""tagd beside moto and fakecloud (and the machine's HTTP ceiling), in one run, loopback only.

1. Ceiling: a fresh tagd; tagd-bench against /healthz (with its own CPU share), then `wrk`
   against the same /healthz (installed with apt-get when missing; skipped with a message if
   that fails), so the load generator's rate can be compared with a C load generator's.
2. For each N (default 1k, 10k, 50k), the same logical workloads on both servers:
   - write: tag N resources with 5 tags each, one resource per call, each resource once
     (tagd: RDS TagResources through tagd-bench, 64 connections, `--requests N --order
     sequential`; moto: Resource Groups Tagging API tag_resources through boto3, a thread
     pool). The tag values are the same function of the resource index on both sides.
   - filter query: find every resource with one tag, with its tags, paging to the end, one
     query at a time, at two selectivities: cost=cc-7 (1% of N) and owner=user-7 (0.1%)
     (tagd: the Tag service's ListTagResources with a Tags filter, 1,000 resources a page,
     `tagd-bench --workload find-tag`; moto: RGTA get_resources with TagFilters, 100
     resources a page, its largest). Each answer item is a resource with its tags on both
     sides. The latency of a whole query is what is compared. tagd runs 2,000 queries of each
     (moto 30: each takes it 0.1-0.6 s), after `--settle` seconds at rest (default 2): the
     write phase's last checkpoint is then done, and the queries meet a store at rest, as
     moto's do. tagd's query sets run 3 times in turn (--tagd-query-repeats); the run with the
     median p99 is reported, with all three p99s.
   Each server's CPU per call is read from /proc/PID/stat, because a Python client is itself
   the bottleneck near 1 ms per call: the CPU ratios say what the servers cost.
3. The same client script, against each AWS stand-in found: moto always; fakecloud (crates.io
   `fakecloud`, a Rust AWS emulator) if a `fakecloud` binary is on PATH or given with
   --fakecloud, twice: in memory (its default) and in its persistent mode
   (`--storage-mode persistent --data-path DIR`, in a scratch directory). A stand-in that cannot
   tag every resource within --write-secs has its write rate taken over the calls it made, and
   the rest tagged afterwards, untimed, 20 ARNs a call, so that every peer's queries answer the
   same query over the same N resources. fakecloud's persistent mode rewrites its state file
   at every call, so its bound is --persistent-write-secs (default 120 s): at 50k it tags part
   of N in that time (its RGTA accepts ARNs whether or not the log group exists, so a setup cut
   short changes nothing it answers).
4. tagd on PostgreSQL (`--database-url`, the machine's server at TAGD_BENCH_DATABASE_URL,
   default postgres://postgres@127.0.0.1:5432/test, a fresh schema per run, dropped after it):
   the same tagd side as 2., with --pg-connections pool connections (default 16). After its
   write phase the schema is ANALYZEd (what autovacuum would have done by the time a real store
   is queried). Its server CPU is tagd's process plus every `postgres` process's, sampled over
   the measured window. --skip-postgres leaves it out.

moto 5.x comes from PyPI into its own venv (bench/.venv-moto, override with --venv).
moto's RGTA tag_resources does not route EC2 ARNs (it answers "Service not yet supported"),
so the resources are CloudWatch Logs log groups (arn:aws:logs:us-east-1:123456789012:
log-group:bench-NNNNNN), created beforehand (not timed): RGTA tags and lists them.

Usage: bench/compare.py [--sizes 1000,10000,50000] [--secs 10] [--threads 8]
                        [--query-count 30] [--query-secs 60] [--write-secs 600]
                        [--fakecloud PATH] [--peers all|moto,fakecloud-memory,...]
                        [--pg-connections 16] [--skip-postgres] [--skip-build] [--skip-wrk]
Results: bench/results/compare-*.json and compare-summary.json; a markdown table on stdout.
"""

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib  # noqa: E402
from benchlib import RESULTS, ROOT, Tagd, log, tagd_bench  # noqa: E402

MOTO_SPEC = "moto[server,logs,resourcegroupstaggingapi]>=5,<6"
ACCOUNT = "123456789012"
REGION = "us-east-1"
# (label, key, value): the filter queries, and the share of N each matches.
QUERIES = [("1%", "cost", "cc-7"), ("0.1%", "owner", "user-7")]
ENV_VALUES = ["prod", "staging", "dev", "test"]


def fixed_tags(index):
    """The W1 tags of resource `index` in sequential order (tagd-bench's fixed_w1_tags)."""
    return {
        "env": ENV_VALUES[index % 4],
        "team": f"team-{index % 8}",
        "app": f"app-{index % 32}",
        "owner": f"user-{index % 1000}",
        "cost": f"cc-{index % 100}",
    }


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--secs", type=float, default=10, help="seconds of the ceiling runs")
    parser.add_argument("--threads", type=int, default=8, help="boto3 client threads (the stand-ins' writes)")
    parser.add_argument("--connections", type=int, default=64, help="tagd-bench connections (writes)")
    parser.add_argument("--query-count", type=int, default=30, help="filter queries per N on each AWS stand-in")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds tagd rests between its write phase and its queries")
    parser.add_argument("--tagd-query-count", type=int, default=2000,
                        help="tagd filter queries per N (more: its CPU per query needs them)")
    parser.add_argument("--tagd-repeats", type=int, default=3,
                        help="tagd write phases per N, each on a fresh server (median kept)")
    parser.add_argument("--tagd-query-repeats", type=int, default=3,
                        help="tagd query sets per N, in turn on the same server (median p99 kept)")
    parser.add_argument("--query-secs", type=float, default=60, help="time bound of those queries")
    parser.add_argument("--write-secs", type=float, default=600,
                        help="time bound of a stand-in's setup and of its write phase")
    parser.add_argument("--persistent-write-secs", type=float, default=120,
                        help="the same for fakecloud's persistent mode, which rewrites its whole "
                             "state on disk at every write (O(N) a call)")
    parser.add_argument("--venv", default=str(ROOT / "bench" / ".venv-moto"))
    parser.add_argument("--pg-connections", type=int, default=16,
                        help="PostgreSQL connections of tagd on PostgreSQL")
    parser.add_argument("--skip-postgres", action="store_true",
                        help="leave tagd on PostgreSQL out")
    parser.add_argument("--fakecloud", help="the fakecloud binary (default: `fakecloud` on PATH)")
    parser.add_argument("--peers", default="all",
                        help="which stand-ins: all, or a list of moto, fakecloud-memory, "
                             "fakecloud-persistent")
    parser.add_argument("--peer-scratch", default=None,
                        help="where the stand-ins' scratch and persistent data go (default: /tmp)")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--skip-wrk", action="store_true")
    parser.add_argument("--tag", default="compare")
    return parser.parse_args()


# ---------------------------------------------------------------- ceiling


def ensure_wrk():
    if shutil.which("wrk"):
        return True
    log("wrk is not installed; trying apt-get install -y wrk ...")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        if subprocess.run(command, capture_output=True, check=False).returncode != 0:
            break
    return shutil.which("wrk") is not None


def run_wrk(endpoint, secs, connections):
    threads = os.cpu_count() or 1
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(secs)}s", "--latency",
               f"http://{endpoint}/healthz"]
    log("$ " + " ".join(command))
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    cpu = 0.0
    output = ""
    while process.poll() is None:
        try:
            cpu = benchlib.cpu_seconds(process.pid)
        except (FileNotFoundError, ProcessLookupError):
            pass
        time.sleep(0.2)
    output = process.stdout.read()
    wall = time.monotonic() - started
    sys.stderr.write(output)
    rate = None
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            rate = float(line.split()[1])
    return {"requests_per_s": rate, "cpu_seconds_approx": cpu, "wall_seconds": wall,
            "threads": threads, "connections": connections, "output": output}


def ceiling(args):
    out = {}
    with tempfile.TemporaryDirectory(prefix="tagd-compare-") as data:
        with Tagd(data) as server:
            server.start()
            run = tagd_bench(server, "healthz", RESULTS / f"{args.tag}-healthz.json",
                             connections=args.connections, secs=args.secs, warmup=2)
            out["tagd_bench_healthz"] = {
                "requests_per_s": run["throughput_rps"],
                "client_cores": run["client_cpu"]["cores_used"],
                "server_cores": (run.get("server_cpu") or {}).get("cores_used"),
                "p99_ms": run["latency_us"]["p99"] / 1000,
            }
            if args.skip_wrk:
                out["wrk"] = {"skipped": "--skip-wrk"}
            elif ensure_wrk():
                out["wrk"] = run_wrk(server.endpoint, args.secs, args.connections)
            else:
                out["wrk"] = {"skipped": "wrk is not installed and apt-get install wrk failed"}
                log(out["wrk"]["skipped"])
    return out


# ---------------------------------------------------------------- tagd side


def tagd_side(args, size, engine):
    """tagd's writes and queries at N=size on `engine` (embedded or postgres)."""
    writes = []
    name = "tagd" if engine == "embedded" else "tagd-pg"
    for repeat in range(args.tagd_repeats):
        with tempfile.TemporaryDirectory(prefix="tagd-compare-") as data, \
                (benchlib.PgSchema() if engine == "postgres" else contextlib.nullcontext()) as db:
            env = {"TAGD_DATABASE_CONNECTIONS": str(args.pg_connections)} if db else {}
            with Tagd(data, env=env, database=db) as server:
                server.start()
                write = tagd_bench(
                    server, "tag", RESULTS / f"{args.tag}-{size}-{name}-write-{repeat + 1}.json",
                    connections=args.connections, secs=args.write_secs, warmup=0,
                    extra=("--resources", str(size), "--requests", str(size),
                           "--order", "sequential"))
                writes.append(write)
                if repeat + 1 < args.tagd_repeats:
                    continue
                if db:
                    db.analyze()
                # The queries measure a store at rest, as moto's do: the write phase ends with
                # a burst whose checkpoint (a durable redb commit, ~200 ms after the last
                # write) would otherwise land among the first few hundred queries.
                time.sleep(args.settle)
                # Each query set runs --tagd-query-repeats times, the selectivities in turn; the
                # run with the median p99 stands for each. A query takes tagd ~0.2-1 ms, so one
                # burst of the shared machine's other work moves a single run's p99 by 2x.
                runs = {label: [] for label, _, _ in QUERIES}
                for repeat in range(args.tagd_query_repeats):
                    for label, key, value in QUERIES:
                        slug = label.replace("%", "pct")
                        runs[label].append(tagd_bench(
                            server, "find-tag",
                            RESULTS / f"{args.tag}-{size}-{name}-query-{slug}-{repeat + 1}.json",
                            connections=1, secs=args.query_secs, warmup=0,
                            extra=("--resources", str(size), "--tag-key", key, "--tag-value",
                                   value, "--requests", str(args.tagd_query_count))))
                queries = {label: median_run(done) for label, done in runs.items()}
                memory = server.memory()
    writes.sort(key=lambda run: run["throughput_rps"])
    write = writes[len(writes) // 2]
    return {
        "engine": engine,
        "write_calls_per_s": write["throughput_rps"],
        "write_calls_per_s_all_repeats": [run["throughput_rps"] for run in writes],
        "write_ok": write["ok"],
        "write_errors": write["errors"],
        "write_seconds": write["measured_seconds"],
        "write_server_us_per_call": server_us(write),
        "write_database_us_per_call": (write.get("database_cpu") or {}).get("us_per_ok"),
        "write_client_cores": write["client_cpu"]["cores_used"],
        "queries": {label: query_summary(query) for label, query in queries.items()},
        "memory": memory,
    }


def server_us(run):
    """The server's CPU µs per call: tagd's process, plus PostgreSQL's processes on that
    engine (None when /proc's 10 ms ticks saw less than one)."""
    tagd = (run.get("server_cpu") or {}).get("us_per_ok")
    if "database_cpu" not in run or tagd is None:
        return tagd
    database = run["database_cpu"].get("us_per_ok")
    return tagd + database if database is not None else None


def listing_p99(run):
    return (run["listing_latency_us"] or {}).get("p99", 0)


def median_run(runs):
    """The run whose whole-query p99 is the median of `runs`, with every run's p99 (ms)."""
    ordered = sorted(runs, key=listing_p99)
    chosen = dict(ordered[len(ordered) // 2])
    chosen["p99_ms_all_repeats"] = [listing_p99(run) / 1000 for run in runs]
    return chosen


def query_summary(query):
    listing = query["listing_latency_us"] or {}
    server_cpu = (query.get("server_cpu") or {}).get("cpu_seconds")
    if server_cpu is not None and "database_cpu" in query:
        server_cpu += query["database_cpu"]["cpu_seconds"]
    listings = query["listings_completed"]
    return {
        "listings": listings,
        "pages_per_listing": query["ok"] / listings if listings else None,
        "p50_ms": listing.get("p50", 0) / 1000,
        "p99_ms": listing.get("p99", 0) / 1000,
        "p99_ms_all_repeats": query.get("p99_ms_all_repeats"),
        "page_p99_ms": query["latency_us"]["p99"] / 1000,
        # /proc counts CPU in 10 ms ticks: None when the run used less than one.
        "server_us_per_query": server_cpu * 1e6 / listings if listings and server_cpu else None,
        "errors": query["errors"],
    }


# ---------------------------------------------------------------- the AWS stand-ins


def ensure_moto(venv):
    venv = Path(venv)
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import moto, boto3, flask; print(moto.__version__)"]
    if python.exists():
        result = subprocess.run(check, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return python, result.stdout.strip()
    log(f"installing {MOTO_SPEC} and boto3 into {venv} ...")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", MOTO_SPEC, "boto3"], check=True)
    result = subprocess.run(check, capture_output=True, text=True, check=True)
    return python, result.stdout.strip()


# The boto3 side runs in the moto venv's interpreter (boto3 lives there), as a child script.
AWS_CLIENT = r'''
import json, sys, time, threading
from concurrent.futures import ThreadPoolExecutor
import boto3
from botocore.config import Config

endpoint, size, threads, query_count, query_secs, write_secs, queries = sys.argv[1:8]
size, threads, query_count = int(size), int(threads), int(query_count)
query_secs, write_secs = float(query_secs), float(write_secs)
pid = int(sys.argv[8])
queries = json.loads(queries)
ACCOUNT, REGION = "123456789012", "us-east-1"
ENV = ["prod", "staging", "dev", "test"]

def cpu(pid):
    text = open(f"/proc/{pid}/stat").read()
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / 100.0

local = threading.local()
def client(service):
    name = "c_" + service
    if not hasattr(local, name):
        setattr(local, name, boto3.client(
            service, endpoint_url=f"http://{endpoint}", region_name=REGION,
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(retries={"max_attempts": 1}, max_pool_connections=4)))
    return getattr(local, name)

def name(i):
    return f"bench-{i:06d}"

def arn(i):
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name(i)}"

def tags(i):
    return {"env": ENV[i % 4], "team": f"team-{i % 8}", "app": f"app-{i % 32}",
            "owner": f"user-{i % 1000}", "cost": f"cc-{i % 100}"}

def run_all(fn, deadline, items=None):
    errors = []
    latencies = []
    done = []
    def one(i):
        if time.monotonic() > deadline:
            return
        started = time.monotonic()
        try:
            fn(i)
            done.append(i)
        except Exception as e:  # noqa: BLE001 (counted and reported)
            errors.append(repr(e)[:200])
        latencies.append(time.monotonic() - started)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(size) if items is None else items))
    return latencies, errors, done

out = {}
# Setup (not timed as a result): the log groups RGTA will tag and list.
started = time.monotonic()
_, errors, created = run_all(lambda i: client("logs").create_log_group(logGroupName=name(i)),
                             started + write_secs)
out["setup_seconds"] = time.monotonic() - started
out["setup_errors"] = errors[:5]
out["setup_created"] = len(created)

failed = []
def tag(i):
    answer = client("resourcegroupstaggingapi").tag_resources(ResourceARNList=[arn(i)], Tags=tags(i))
    if answer.get("FailedResourcesMap"):
        failed.append(answer["FailedResourcesMap"])
cpu_before = cpu(pid)
started = time.monotonic()
latencies, errors, tagged = run_all(tag, started + write_secs)
wall = time.monotonic() - started
cpu_used = cpu(pid) - cpu_before
ok = len(latencies) - len(errors) - len(failed)
latencies.sort()
out["write"] = {"calls": len(latencies), "ok": ok, "errors": errors[:5], "failed": failed[:3],
                "wall_seconds": wall, "calls_per_s": ok / wall if wall else None,
                "server_cpu_seconds": cpu_used,
                "server_us_per_call": cpu_used * 1e6 / ok if ok else None,
                "client_p50_ms": latencies[len(latencies) // 2] * 1000 if latencies else None,
                "all_tagged_in_time": len(tagged) == size}

# A peer too slow to tag every resource within the time bound gets the rest tagged here, not
# timed, 20 ARNs a call (RGTA's most) grouped by their tag set, so that its queries answer the
# same query over the same N resources as every other peer's.
if len(tagged) < size:
    left = sorted(set(range(size)) - set(tagged))
    groups = {}
    for i in left:
        groups.setdefault(i % 4000, []).append(i)
    chunks = [g[k:k + 20] for g in groups.values() for k in range(0, len(g), 20)]
    def fill(c):
        chunk = chunks[c]
        answer = client("resourcegroupstaggingapi").tag_resources(
            ResourceARNList=[arn(i) for i in chunk], Tags=tags(chunk[0]))
        if answer.get("FailedResourcesMap"):
            raise RuntimeError(str(answer["FailedResourcesMap"])[:200])
    started = time.monotonic()
    _, errors, filled = run_all(fill, started + 4 * write_secs, range(len(chunks)))
    out["write"]["filled_untimed"] = {"resources": len(left), "calls": len(filled),
                                      "complete": len(filled) == len(chunks),
                                      "seconds": time.monotonic() - started,
                                      "errors": errors[:5]}

def pct(values, f):
    if not values:
        return None
    rank = max(1, int(round(f * len(values) + 0.5)))
    return values[min(rank, len(values)) - 1] * 1000

rgta = client("resourcegroupstaggingapi")
out["queries"] = {}
for label, key, value in queries:
    durations, pages, found = [], [], None
    cpu_before = cpu(pid)
    deadline = time.monotonic() + query_secs
    while len(durations) < query_count and time.monotonic() < deadline:
        started = time.monotonic()
        token, count = "", 0
        while True:
            page_started = time.monotonic()
            answer = rgta.get_resources(TagFilters=[{"Key": key, "Values": [value]}],
                                        ResourcesPerPage=100, PaginationToken=token)
            pages.append(time.monotonic() - page_started)
            count += len(answer["ResourceTagMappingList"])
            token = answer.get("PaginationToken") or ""
            if not token:
                break
        durations.append(time.monotonic() - started)
        found = count
    cpu_used = cpu(pid) - cpu_before
    durations.sort()
    pages.sort()
    out["queries"][label] = {
        "queries": len(durations), "found": found,
        "pages_per_query": len(pages) / max(1, len(durations)),
        "p50_ms": pct(durations, 0.5), "p99_ms": pct(durations, 0.99),
        "max_ms": durations[-1] * 1000 if durations else None,
        "page_p99_ms": pct(pages, 0.99),
        "server_us_per_query": cpu_used * 1e6 / len(durations) if durations else None}
print(json.dumps(out))
'''


class Peer:
    """An AWS stand-in that serves the Resource Groups Tagging API over HTTP, driven by the
    same boto3 client script (AWS_CLIENT)."""

    def __init__(self, name, label, version, command, ready_path, persistent=False):
        self.name = name  # the key in the JSON: moto, fakecloud-memory, fakecloud-persistent
        self.label = label  # for the tables
        self.version = version
        self.command = command  # (port, scratch dir) -> argv
        self.ready_path = ready_path
        self.persistent = persistent


    def summary(self):
        return {"name": self.name, "label": self.label, "version": self.version,
                "persistent": self.persistent}


def peers(args, python, moto_version):
    """The stand-ins `--peers` asks for, and notes on those that are missing."""
    found = [Peer("moto", "moto", moto_version, lambda port, scratch: [
        str(Path(python).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        "/moto-api/")]
    skipped = []
    fakecloud = args.fakecloud or shutil.which("fakecloud")
    if fakecloud:
        result = subprocess.run([fakecloud, "--version"], capture_output=True, text=True,
                                check=False)
        version = result.stdout.strip() or None
        base = [fakecloud, "--log-level", "warn"]
        found.append(Peer("fakecloud-memory", "fakecloud (memory)", version, lambda port, scratch: [
            *base, "--addr", f"127.0.0.1:{port}"], "/_fakecloud/health"))
        found.append(Peer("fakecloud-persistent", "fakecloud (persistent)", version,
                          lambda port, scratch: [
                              *base, "--addr", f"127.0.0.1:{port}", "--storage-mode", "persistent",
                              "--data-path", str(Path(scratch) / "data")],
                          "/_fakecloud/health", persistent=True))
    else:
        skipped.append("fakecloud: no `fakecloud` binary on PATH (`cargo install fakecloud`, "
                       "~42 min here, or --fakecloud PATH)")
    if args.peers != "all":
        chosen = set(args.peers.split(","))
        found = [peer for peer in found if peer.name in chosen]
    return found, skipped


def peer_side(args, python, size, peer):
    port = benchlib.free_port()
    endpoint = f"127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix=f"{peer.name}-", dir=args.peer_scratch) as scratch:
        log_file = open(Path(scratch) / "server.log", "wb")
        env = dict(os.environ, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        server = subprocess.Popen(peer.command(port, scratch), stdout=log_file, stderr=log_file,
                                  env=env)
        try:
            import urllib.request
            for _ in range(600):
                try:
                    urllib.request.urlopen(f"http://{endpoint}{peer.ready_path}", timeout=1).read()
                    break
                except OSError:
                    if server.poll() is not None:
                        log_file.flush()
                        tail = (Path(scratch) / "server.log").read_text(errors="replace")[-300:]
                        raise RuntimeError(f"{peer.name} exited with {server.returncode}: "
                                           f"{tail.strip()!r}") from None
                    time.sleep(0.1)
            script = Path(scratch) / "client.py"
            script.write_text(AWS_CLIENT)
            command = [str(python), str(script), endpoint, str(size), str(args.threads),
                       str(args.query_count), str(args.query_secs),
                       str(args.persistent_write_secs if peer.persistent else args.write_secs),
                       json.dumps(QUERIES), str(server.pid)]
            log(f"{peer.label} N={size}: creating log groups, tagging, querying ...")
            result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
            if result.returncode != 0:
                sys.stderr.write(result.stderr[-3000:])
                raise RuntimeError(f"the {peer.name} client failed")
            out = json.loads(result.stdout)
            out["memory"] = {"rss_kib": benchlib.status_kib(server.pid, "VmRSS"),
                             "hwm_kib": benchlib.status_kib(server.pid, "VmHWM")}
            if peer.persistent:
                out["data_bytes"] = sum(f.stat().st_size
                                        for f in (Path(scratch) / "data").rglob("*") if f.is_file())
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
            log_file.close()
    return out


# ---------------------------------------------------------------- report


def ratio(a, b):
    return a / b if a and b else None


def peer_as_tagd(out):
    """A stand-in's figures under tagd_side's names, so that tagd_ratios compares either."""
    return {
        "write_calls_per_s": out["write"]["calls_per_s"],
        "write_server_us_per_call": out["write"]["server_us_per_call"],
        "queries": out["queries"],
    }


def tagd_ratios(tagd, other):
    """How many times better `tagd` does than `other`: its write rate over theirs, their server
    CPU per call over its own, their query p99 and CPU over its own."""
    return {
        "write_throughput": ratio(tagd["write_calls_per_s"], other["write_calls_per_s"]),
        "write_server_cpu": ratio(other["write_server_us_per_call"],
                                  tagd["write_server_us_per_call"]),
        "queries": {
            label: {
                "p99": ratio(other["queries"][label]["p99_ms"], tagd["queries"][label]["p99_ms"]),
                "server_cpu": ratio(other["queries"][label]["server_us_per_query"],
                                    tagd["queries"][label]["server_us_per_query"]),
            }
            for label, _, _ in QUERIES
        },
    }


def markdown(summary):
    lines = []
    c = summary["ceiling"]
    tb = c["tagd_bench_healthz"]
    wrk = c["wrk"]
    lines.append("### Ceiling: /healthz on tagd\n")
    lines.append(f"- tagd-bench: {tb['requests_per_s']:,.0f} req/s, using {tb['client_cores']:.2f} "
                 f"of {summary['machine']['nproc']} cores (server {tb['server_cores'] or 0:.2f})")
    if wrk.get("requests_per_s"):
        wrk_cores = wrk["cpu_seconds_approx"] / wrk["wall_seconds"]
        lines.append(f"- wrk ({wrk['threads']} threads, {wrk['connections']} connections): "
                     f"{wrk['requests_per_s']:,.0f} req/s using ~{wrk_cores:.2f} cores; tagd-bench "
                     f"reaches {tb['requests_per_s'] / wrk['requests_per_s']:.0%} of wrk's rate, at "
                     f"{tb['client_cores'] * 1e6 / tb['requests_per_s']:.1f} client CPU µs per "
                     f"request against wrk's {wrk_cores * 1e6 / wrk['requests_per_s']:.1f}")
    else:
        lines.append(f"- wrk: skipped ({wrk.get('skipped', 'no rate parsed')})")
    versions = ", ".join(f"{p['label']} {p['version'] or ''}".strip() for p in summary["peers"])
    lines.append(f"\n### tagd vs {versions}\n")
    lines.append("| N | tagd on | peer | tagd writes/s | peer writes/s | write ratio | "
                 "tagd srv µs/write | peer srv µs/write | CPU ratio |")
    lines.append("|---|---|---|---|---|---|---|---|---|")
    notes = []
    for row, engine, t, ratios in engines(summary):
        for peer in summary["peers"]:
            if peer["name"] not in row["peers"]:
                continue
            pw = row["peers"][peer["name"]]["write"]
            r = ratios[peer["name"]]
            cells = [
                f"{row['resources']:,}",
                engine,
                peer["label"],
                f"{t['write_calls_per_s']:,.0f}",
                f"{pw['calls_per_s']:,.1f}" if pw["calls_per_s"] else "-",
                fmt_ratio(r["write_throughput"]),
                fmt(t["write_server_us_per_call"]),
                fmt(pw["server_us_per_call"]),
                fmt_ratio(r["write_server_cpu"]),
            ]
            lines.append("| " + " | ".join(cells) + " |")
            if engine != "embedded":
                continue  # the note is the peer's: once
            if not pw.get("all_tagged_in_time", True):
                fill = pw.get("filled_untimed") or {}
                bound = "--persistent-write-secs" if peer.get("persistent") else "--write-secs"
                done = (f"were tagged afterwards, untimed, 20 a call "
                        f"({fill.get('seconds', 0):.0f} s), for the queries")
                if not fill.get("complete", True):
                    done = (f"were to be tagged afterwards, untimed, but that fill stopped at "
                            f"its bound (4x the write bound) after {fill['calls']:,} calls, so "
                            f"its queries saw fewer resources than tagd's")
                notes.append(f"{peer['label']} at N={row['resources']:,} tagged {pw['ok']:,} "
                             f"resources within {bound}; its rate is theirs, and the other "
                             f"{fill.get('resources', 0):,} {done}")
    lines.append("")
    lines.append("| N | tagd on | peer | filter | matches | tagd query p99 ms | peer query p99 ms | "
                 "p99 ratio | tagd srv µs/query | peer srv µs/query | CPU ratio |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
    for row, engine, tagd, ratios in engines(summary):
        for peer in summary["peers"]:
            if peer["name"] not in row["peers"]:
                continue
            for label, key, value in QUERIES:
                t = tagd["queries"][label]
                m = row["peers"][peer["name"]]["queries"][label]
                r = ratios[peer["name"]]["queries"][label]
                cells = [
                    f"{row['resources']:,}",
                    engine,
                    peer["label"],
                    f"`{key}={value}` ({label})",
                    f"{m['found']}",
                    f"{t['p99_ms']:.2f}",
                    fmt(m["p99_ms"], ".1f"),
                    fmt_ratio(r["p99"]),
                    fmt(t["server_us_per_query"]),
                    fmt(m["server_us_per_query"]),
                    fmt_ratio(r["server_cpu"]),
                ]
                lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    pg_rows = [row for row in summary["sizes"] if "tagd_postgres" in row]
    if pg_rows:
        lines.append("| N | embedded writes/s | PostgreSQL writes/s | embedded / PG | "
                     "PG srv µs/write (tagd + postgres) | " + " | ".join(
                         f"{label} p99 ms embedded / PG" for label, _, _ in QUERIES) + " |")
        lines.append("|---|---|---|---|---|" + "---|" * len(QUERIES))
        for row in pg_rows:
            e, p = row["tagd"], row["tagd_postgres"]
            inverse = ratio(e["write_calls_per_s"], p["write_calls_per_s"])
            database = p.get("write_database_us_per_call")
            tagd_only = (p["write_server_us_per_call"] - database
                         if database is not None and p["write_server_us_per_call"] else None)
            cells = [
                f"{row['resources']:,}",
                f"{e['write_calls_per_s']:,.0f}",
                f"{p['write_calls_per_s']:,.0f}",
                fmt_ratio(inverse),
                f"{fmt(p['write_server_us_per_call'])} ({fmt(tagd_only)} + {fmt(database)})",
                *(f"{e['queries'][label]['p99_ms']:.2f} / {p['queries'][label]['p99_ms']:.2f}"
                  for label, _, _ in QUERIES),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    repeat_notes = []
    for row, engine, tagd, _ in engines(summary):
        repeats = [
            f"{label}: " + " / ".join(f"{p:.2f}" for p in
                                      tagd["queries"][label].get("p99_ms_all_repeats") or [])
            for label, _, _ in QUERIES
        ]
        repeat_notes.append(f"tagd's ({engine}) query p99 (ms) in each of its query sets at "
                            f"N={row['resources']:,}, the median reported: " + "; ".join(repeats))
    if pg_rows:
        notes.append("tagd on PostgreSQL: its server CPU (srv µs) is tagd's process plus every "
                     "`postgres` process's over the same window")
    for note in repeat_notes + notes:
        lines.append(f"- {note}")
    for note in summary["skipped"]:
        lines.append(f"- skipped: {note}")
    return "\n".join(lines)


def engines(summary):
    """(row, engine label, tagd figures, ratios to each peer) for each N and each tagd engine."""
    for row in summary["sizes"]:
        yield row, "embedded", row["tagd"], row["ratios"]
        if "tagd_postgres" in row:
            yield row, "PostgreSQL", row["tagd_postgres"], row.get("ratios_postgres", {})


def fmt(value, spec=",.0f"):
    return format(value, spec) if value is not None else "-"


def fmt_ratio(value):
    return f"{value:,.1f}x" if value is not None else "-"


def main():
    args = parse_args()
    if not args.skip_build:
        benchlib.build()
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    summary = {"machine": benchlib.machine(), "args": vars(args),
               "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "skipped": []}
    python, version = ensure_moto(args.venv)
    found, skipped = peers(args, python, version)
    summary["skipped"].extend(skipped)
    summary["peers"] = [peer.summary() for peer in found]
    summary["ceiling"] = ceiling(args)
    summary["sizes"] = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        tagd = tagd_side(args, size, "embedded")
        row = {"resources": size, "tagd": tagd, "peers": {}, "ratios": {}}
        if not args.skip_postgres:
            pg = tagd_side(args, size, "postgres")
            row["tagd_postgres"] = pg
            row["postgres_vs_embedded"] = tagd_ratios(pg, tagd)
        for peer in found:
            try:
                out = peer_side(args, python, size, peer)
            except (RuntimeError, ValueError, OSError) as err:
                # One stand-in failing (another version, a crash) leaves the others' figures.
                summary["skipped"].append(f"{peer.label} at N={size:,}: {err}")
                log(f"skipped: {peer.label} at N={size:,}: {err}")
                continue
            row["peers"][peer.name] = out
            row["ratios"][peer.name] = tagd_ratios(tagd, peer_as_tagd(out))
            if "tagd_postgres" in row:
                row.setdefault("ratios_postgres", {})[peer.name] = tagd_ratios(
                    row["tagd_postgres"], peer_as_tagd(out))
        benchlib.write_json(RESULTS / f"{args.tag}-{size}.json", row)
        summary["sizes"].append(row)
        log(f"N={size}: {json.dumps(row['ratios'])}")
    if args.skip_postgres:
        summary["skipped"].append("tagd on PostgreSQL: --skip-postgres")
    for note in summary["skipped"]:
        log(f"skipped: {note}")
    summary["compare_seconds"] = time.monotonic() - started
    table = markdown(summary)
    summary["markdown"] = table
    path = benchlib.write_json(RESULTS / f"{args.tag}-summary.json", summary)
    print(table)
    print(f"\ncompare took {summary['compare_seconds']:.0f} s; summary in {path}")


if __name__ == "__main__":
    main()
