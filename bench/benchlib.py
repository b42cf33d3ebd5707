"""Helpers shared by bench/suite.py and bench/compare.py: building, starting and stopping a
tagd server, running tagd-bench, and reading /proc (CPU time, RSS) of a process.

Everything here talks to 127.0.0.1 only, and every load run is bounded in time (and often in
count) by tagd-bench itself.
"""

import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
KEY_ID = "LTAIbenchsuite0000000000"
SECRET = "benchsuitesecret00000000000000"
USER_HZ = 100.0
# The PostgreSQL server of the machine (trust auth); a run gets a schema of its own in it.
DATABASE_URL = os.environ.get("TAGD_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")


def log(message):
    print(message, file=sys.stderr, flush=True)


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))


def binary(name):
    return target_dir() / "release" / name


def build():
    log(f"building release binaries into {target_dir()} ...")
    subprocess.run(
        ["cargo", "build", "--release", "--locked", "-p", "tagd", "-p", "tagd-bench"],
        cwd=ROOT,
        check=True,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid):
    """utime + stime of a process (all threads), from /proc/PID/stat."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / USER_HZ


def thread_cpu(pid):
    """CPU seconds of each thread of a process, {tid: (name, seconds)}, from
    /proc/PID/task/*/stat."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        out[task.name] = (name, (int(fields[11]) + int(fields[12])) / USER_HZ)
    return out


def thread_cores(before, after, seconds):
    """Cores each thread name used between two thread_cpu() samples (threads of one name
    summed), busiest first. A thread that ended in between is missing (tokio's blocking pool
    lets idle threads go), so the tokio figure is a lower bound; the store's writer and syncer
    threads live as long as the server."""
    used = {}
    for tid, (name, cpu) in after.items():
        earlier = before.get(tid, (name, 0.0))[1]
        used[name] = used.get(name, 0.0) + (cpu - earlier) / seconds
    return dict(sorted(((n, round(c, 3)) for n, c in used.items() if c > 0),
                       key=lambda item: -item[1]))


def postgres_cpu():
    """CPU seconds of each process named `postgres` on the machine (the server and its
    backends), {pid: seconds}, from /proc/PID/stat: what tagd on PostgreSQL costs beyond its
    own process. Two samples give the CPU in between with `cpu_between`."""
    out = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() == "postgres":
                out[proc.name] = cpu_seconds(proc.name)
        except (OSError, ValueError, IndexError):
            continue
    return out


def cpu_between(before, after):
    """The CPU seconds two {pid: seconds} samples differ by: a process that started in between
    counts whole; one that ended in between is lost (a pool's backends live for the run)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def psql(sql, url=DATABASE_URL):
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True,
                   stdin=subprocess.DEVNULL, capture_output=True, text=True)


class PgSchema:
    """A fresh schema on DATABASE_URL for one tagd on PostgreSQL, dropped on exit; `url` is the
    `--database-url` that puts tagd in it."""

    def __init__(self, prefix="tagd_bench"):
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        sep = "&" if "?" in DATABASE_URL else "?"
        self.url = f"{DATABASE_URL}{sep}options[search_path]={self.name}"

    def __enter__(self):
        psql(f"CREATE SCHEMA {self.name}")
        return self

    def analyze(self):
        """ANALYZE the schema's tables: after a bulk write, the planner's statistics are what
        autovacuum would have brought them to by the time a real store is queried."""
        psql(f"SET search_path = {self.name}; ANALYZE")

    def __exit__(self, *exc):
        psql(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")


def machine_busy_seconds():
    """CPU seconds all cores spent busy (everything but idle and iowait), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / USER_HZ


def io_bytes(pid):
    """read_bytes / write_bytes of a process (what reached the block layer), from /proc/PID/io."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("read_bytes", "write_bytes"):
                out[name] = int(value)
    except OSError:
        pass
    return out


def status_kib(pid, field):
    """A kB field of /proc/PID/status (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def machine():
    """What the figures were measured on."""
    mem_kib = None
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    cpu_model = None
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    disk = shutil.disk_usage("/tmp")
    df = subprocess.run(
        ["df", "-hT", "/tmp"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_mib": mem_kib // 1024 if mem_kib else None,
        "kernel": platform.release(),
        "disk_tmp_total_gib": round(disk.total / 2**30, 1),
        "disk_tmp_free_gib": round(disk.free / 2**30, 1),
        "df_tmp": df,
        "load_average_at_start": os.getloadavg(),
    }


class Tagd:
    """A `tagd serve` on 127.0.0.1 with the bench root key, started and timed."""

    def __init__(self, data_dir, port=None, program=None, env=None, database=None):
        self.data_dir = Path(data_dir)
        # A PgSchema: the server keeps its data there (--database-url) instead of data_dir.
        self.database = database
        self.port = port or free_port()
        # Another build of tagd (bench/ceiling.py), and variables for it.
        self.program = Path(program) if program else binary("tagd")
        self.extra_env = dict(env or {})
        self.process = None
        self.ready_seconds = None

    @property
    def endpoint(self):
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.process.pid

    def start(self, timeout=120.0):
        """Starts the server; returns the seconds from spawn until the ready file appeared."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ready = self.data_dir / "ready.json"
        if ready.exists():
            ready.unlink()
        env = dict(os.environ, TAGD_ACCESS_KEY_ID=KEY_ID, TAGD_ACCESS_KEY_SECRET=SECRET)
        env.setdefault("TAGD_LOG", "warn")
        if self.database is not None:
            env["TAGD_DATABASE_URL"] = self.database.url
        env.update(self.extra_env)
        self.log_file = open(self.data_dir / "server.log", "ab")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [
                str(self.program),
                "serve",
                "--listen",
                self.endpoint,
                "--data-dir",
                str(self.data_dir),
                "--ready-file",
                str(ready),
            ],
            env=env,
            stdout=self.log_file,
            stderr=self.log_file,
        )
        while not ready.exists() or ready.stat().st_size == 0:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"tagd exited with {self.process.returncode}; see {self.data_dir}/server.log"
                )
            if time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"tagd not ready after {timeout} s")
            time.sleep(0.002)
        self.ready_seconds = time.monotonic() - started
        return self.ready_seconds

    def memory(self):
        return {
            "rss_kib": status_kib(self.pid, "VmRSS"),
            "hwm_kib": status_kib(self.pid, "VmHWM"),
        }

    def stop(self, timeout=60.0):
        """SIGTERM, then wait; returns the seconds the shutdown took."""
        if self.process is None:
            return None
        if self.process.poll() is not None:
            self.log_file.close()
            return None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log_file.close()
        return time.monotonic() - started

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def tagd_bench(server, workload, json_out, *, connections=64, secs=10, warmup=2, extra=()):
    """Runs tagd-bench against `server` and returns its JSON summary (also kept in json_out)."""
    env = dict(os.environ, TAGD_ACCESS_KEY_ID=KEY_ID, TAGD_ACCESS_KEY_SECRET=SECRET)
    command = [
        str(binary("tagd-bench")),
        "--endpoint",
        server.endpoint,
        "--workload",
        workload,
        "--connections",
        str(connections),
        "--duration",
        f"{secs}s",
        "--warmup",
        f"{warmup}s",
        "--server-pid",
        str(server.pid),
        "--json-out",
        str(json_out),
        *extra,
    ]
    log("$ " + " ".join(command[1:]))
    before = thread_cpu(server.pid)
    database = getattr(server, "database", None) is not None
    io_before = io_bytes(server.pid)
    busy_before = machine_busy_seconds()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    database_cpu = None
    if database:
        # PostgreSQL's CPU over tagd-bench's measured window, as near as a sample after its
        # warmup and one at its end can get (tagd-bench itself samples tagd's process).
        time.sleep(warmup)
        database_before = postgres_cpu()
        measured_from = time.monotonic()
    stdout, stderr = process.communicate()
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    elapsed = time.monotonic() - started
    if database:
        database_cpu = cpu_between(database_before, postgres_cpu())
        database_seconds = time.monotonic() - measured_from
    busy = (machine_busy_seconds() - busy_before) / elapsed
    sys.stderr.write(result.stdout)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise RuntimeError(f"tagd-bench {workload} failed ({result.returncode})")
    summary = json.loads(Path(json_out).read_text())
    # Which server threads were busy (over the whole run, warmup included): the writer and
    # syncer threads show whether the single writer is the bound.
    summary["server_threads_cores"] = thread_cores(before, thread_cpu(server.pid), elapsed)
    # Noise: cores the rest of the machine (not this server, not tagd-bench) kept busy, over
    # the whole run. Another build on the same 2 cores shows up here.
    server_cores = (summary.get("server_cpu") or {}).get("cores_used") or 0
    if database_cpu is not None:
        ok = summary["ok"]
        summary["database_cpu"] = {
            "cpu_seconds": round(database_cpu, 3),
            "cores_used": round(database_cpu / database_seconds, 3),
            "us_per_ok": round(database_cpu * 1e6 / ok, 1) if ok else None,
        }
        server_cores += database_cpu / database_seconds
    summary["machine"] = {
        "busy_cores": round(busy, 3),
        "other_cores": round(max(0.0, busy - server_cores - summary["client_cpu"]["cores_used"]), 3),
        "load_average_before": load_before,
    }
    io_after = io_bytes(server.pid)
    summary["server_io_mib_per_s"] = {
        name: round((io_after[name] - io_before.get(name, 0)) / elapsed / 2**20, 2)
        for name in io_after
    }
    Path(json_out).write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def load_dataset(data_dir, resources, tags, seed, database=None):
    """`tagd-bench load` into a fresh directory (or, given a PgSchema, into that schema, with
    the manifest in the directory); returns the manifest."""
    env = dict(os.environ, TAGD_ACCESS_KEY_ID=KEY_ID, TAGD_ACCESS_KEY_SECRET=SECRET)
    env.pop("TAGD_DATABASE_URL", None)
    command = [
        str(binary("tagd-bench")),
        "load",
        "--data-dir",
        str(data_dir),
        "--resources",
        str(resources),
        "--tags",
        str(tags),
        "--seed",
        str(seed),
        "--progress",
    ]
    if database is not None:
        command += ["--database-url", database.url, "--database-connections", "8"]
    log("$ " + " ".join(command[1:]))
    subprocess.run(command, env=env, check=True)
    return json.loads((Path(data_dir) / "bench-manifest.json").read_text())


def percentile(sorted_values, fraction):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    rank = max(1, int(round(fraction * len(sorted_values) + 0.5)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def write_json(path, value):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2) + "\n")
    return path
