"""iamcap benchmark: startup, memory, and throughput/latency per endpoint against a bare-aiohttp ceiling.

What it does, in one run:
1. starts the real server (`iamcap serve`, default configuration: every IAMCAP_* variable of the caller's
   environment is dropped, so all middleware is on and the access log is as configured by default) on a
   free port, `--startup-runs` times, timing process start -> first `/readyz` 200, and reading its
   resident memory (VmRSS, /proc) once ready;
2. fetches the documents it serves and starts `bench/bare_app.py` (plain aiohttp, no middleware, access
   log off) serving the same bytes;
3. drives each endpoint for `--duration` seconds (after `--warmup`) with wrk (`-t/-c` threads and
   connections), or, when wrk is missing, with a pool of Python aiohttp clients (weaker: noted in the
   output). For endpoints the bare app also serves, the bare run follows ours immediately, so both see
   the same machine;
4. prints a table (requests/s, p50/p99 latency, errors = non-2xx/3xx and socket errors, our throughput as
   a ratio of the bare ceiling, RSS under load) and writes it as markdown (`--markdown`, default
   bench/results.md) with the machine it ran on.

    .venv/bin/python bench/bench.py [--duration 5] [--threads 2] [--connections 50] [--repeat 1]
                                    [--only policy] [--variant 'no access log:IAMCAP_ACCESS_LOG=false']

Loopback only; every load run is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT = 60.0


# --- what is measured --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    headers: dict = field(default_factory=dict)
    bare: bool = False  # the bare app serves the same thing: a ratio is printed
    status: int = 200  # what a correct answer has
    encoding: str | None = None  # Content-Encoding a correct answer has


ETAG = "{map_etag}"  # filled in from the running server
ENDPOINTS = (
    Endpoint("policy: permission boundary", "/policy/aws/permission-boundary/deny-iam-admin", bare=True),
    Endpoint("policy: identity", "/policy/aws/identity/deny-iam-admin", bare=True),
    Endpoint("map: full", "/access-capabilities/aws", bare=True),
    Endpoint("map: full, gzip", "/access-capabilities/aws", {"Accept-Encoding": "gzip"}, bare=True, encoding="gzip"),
    Endpoint("map: full, 304 (If-None-Match)", "/access-capabilities/aws", {"If-None-Match": ETAG}, bare=True, status=304),
    Endpoint("map: ?service=iam", "/access-capabilities/aws?service=iam"),
    Endpoint("action: iam:PassRole", "/access-capabilities/aws/actions/iam:PassRole"),
    Endpoint("pattern: iam:Create*", "/access-capabilities/aws/actions?pattern=iam:Create*"),
    Endpoint("healthz", "/healthz", bare=True),
)
BARE_PATHS = frozenset(e.path for e in ENDPOINTS if e.bare)  # what bench/bare_app.py serves
# Endpoints measured again under each --variant (a server started with extra environment).
VARIANT_ENDPOINTS = ("policy: permission boundary", "map: full, gzip", "healthz")


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx answers + socket errors
    requests: int
    bytes_per_response: float
    rss_max_mb: float = 0.0
    cpu_us: float = 0.0  # server CPU time (user + system) per request: steadier than req/s on a busy machine


# --- processes ---------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def get(port: int, path: str, headers: dict | None = None, timeout: float = 5.0):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


class Server:
    """A server process on a free port; output goes to a file (never a pipe nobody reads)."""

    def __init__(self, name: str, command: list[str], env: dict, port: int, workdir: Path) -> None:
        self.name, self.port = name, port
        self.log_path = workdir / f"{name.replace(' ', '-')}-{port}.log"
        self._log = open(self.log_path, "wb")
        started = time.perf_counter()
        self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        self.startup_s = self._wait_ready(started)
        self.rss_ready_mb = rss_mb(self.proc.pid)

    def _wait_ready(self, started: float) -> float:
        deadline = started + READY_TIMEOUT
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited {self.proc.returncode}: {self.output()[-2000:]}")
            try:
                status, _, _ = get(self.port, "/readyz", timeout=1)
                if status == 200:
                    return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.005)
        self.stop()
        raise RuntimeError(f"{self.name} not ready in {READY_TIMEOUT} s")

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def uses_uvloop(self) -> bool:
        try:
            return "uvloop" in Path(f"/proc/{self.proc.pid}/maps").read_text()
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # run_app's clean stop; SIGTERM may start a drain
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def iamcap_command() -> list[str]:
    # `iamcap serve` through the same entry point as the console script, run from this tree (as the tests
    # do), so a bench/ in another checkout measures that checkout's code.
    return [sys.executable, "-m", "service.cli", "serve"]


def iamcap_env(port: int, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMCAP_")}
    return {**env, "IAMCAP_HOST": HOST, "IAMCAP_PORT": str(port), **extra}


def start_iamcap(name: str, extra_env: dict[str, str], workdir: Path) -> Server:
    port = free_port()
    return Server(name, iamcap_command(), iamcap_env(port, extra_env), port, workdir)


# --- load generators ---------------------------------------------------------------------------------
WRK_SCRIPT = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p99_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, summary.bytes, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


class RssSampler:
    """Peak VmRSS of a process while a load runs, sampled every 100 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb(self.pid))


class Wrk:
    name = "wrk"

    def __init__(self, args, workdir: Path) -> None:
        self.args = args
        self.script = workdir / "report.lua"
        self.script.write_text(WRK_SCRIPT)
        self.version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]

    def run(self, url: str, headers: dict, duration: float) -> Result:
        command = ["wrk", f"-t{self.args.threads}", f"-c{self.args.connections}", f"-d{max(1, round(duration))}s"]
        command += ["--timeout", "5s", "-s", str(self.script)]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        done = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 60)
        line = next((l for l in done.stdout.splitlines() if l.startswith("BENCH_JSON ")), None)
        if line is None:
            raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
        r = json.loads(line.split(" ", 1)[1])
        seconds = r["duration_us"] / 1e6
        errors = r["status"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
        return Result(
            rps=r["requests"] / seconds,
            p50_ms=r["p50_us"] / 1000,
            p99_ms=r["p99_us"] / 1000,
            errors=errors,
            requests=r["requests"],
            bytes_per_response=r["bytes"] / max(1, r["requests"]),
        )


def _python_worker(url: str, headers: dict, connections: int, duration: float, out) -> None:
    import aiohttp

    async def main() -> dict:
        latencies: list[float] = []
        counts = {"errors": 0, "bytes": 0}
        connector = aiohttp.TCPConnector(limit=connections)
        # Send only what wrk would: no automatic Accept-Encoding, keep gzip bodies as they come.
        async with aiohttp.ClientSession(
            connector=connector, auto_decompress=False, skip_auto_headers=("Accept-Encoding", "User-Agent")
        ) as session:
            end = time.perf_counter() + duration

            async def client() -> None:
                while (started := time.perf_counter()) < end:
                    try:
                        async with session.get(url, headers=headers) as response:
                            body = await response.read()
                        latencies.append(time.perf_counter() - started)
                        counts["bytes"] += len(body)
                        if response.status >= 400:
                            counts["errors"] += 1
                    except (aiohttp.ClientError, OSError, asyncio.TimeoutError):
                        counts["errors"] += 1

            await asyncio.gather(*(client() for _ in range(connections)))
        return {"latencies": latencies, **counts}

    out.put(asyncio.run(main()))


class PythonClients:
    name = "python aiohttp client pool (wrk not found: slower generator, figures not comparable to wrk's)"

    def __init__(self, args, workdir: Path) -> None:
        self.args = args
        import aiohttp

        self.version = f"aiohttp {aiohttp.__version__} client, {args.threads} processes"

    def run(self, url: str, headers: dict, duration: float) -> Result:
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        per = max(1, self.args.connections // self.args.threads)
        workers = [ctx.Process(target=_python_worker, args=(url, headers, per, duration, out)) for _ in range(self.args.threads)]
        started = time.perf_counter()
        for w in workers:
            w.start()
        parts = [out.get(timeout=duration + 60) for _ in workers]
        for w in workers:
            w.join()
        seconds = time.perf_counter() - started
        latencies = sorted(l for p in parts for l in p["latencies"])
        n = len(latencies)

        def pct(q: float) -> float:
            return latencies[min(n - 1, int(q * n))] * 1000 if n else 0.0

        return Result(
            rps=n / seconds,
            p50_ms=pct(0.50),
            p99_ms=pct(0.99),
            errors=sum(p["errors"] for p in parts),
            requests=n,
            bytes_per_response=sum(p["bytes"] for p in parts) / max(1, n),
        )


def load_generator(args, workdir: Path):
    if args.client == "wrk" or (args.client == "auto" and shutil.which("wrk")):
        return Wrk(args, workdir)
    return PythonClients(args, workdir)


# --- the run -----------------------------------------------------------------------------------------
def check_answer(port: int, endpoint: Endpoint, headers: dict) -> None:
    status, got, _ = get(port, endpoint.path, headers)
    if status != endpoint.status or got.get("Content-Encoding") != endpoint.encoding:
        raise RuntimeError(
            f"{endpoint.name} on :{port}: got {status} {got.get('Content-Encoding')}, "
            f"expected {endpoint.status} {endpoint.encoding}"
        )


def measure(gen, server: Server, endpoint: Endpoint, headers: dict, args) -> Result:
    check_answer(server.port, endpoint, headers)
    url = f"http://{HOST}:{server.port}{endpoint.path}"
    if args.warmup > 0:
        gen.run(url, headers, args.warmup)
    cpu_before = cpu_seconds(server.proc.pid)
    with RssSampler(server.proc.pid) as rss:
        result = gen.run(url, headers, args.duration)
    result.cpu_us = (cpu_seconds(server.proc.pid) - cpu_before) / max(1, result.requests) * 1e6
    result.rss_max_mb = rss.peak
    return result


def count_lines(path: Path) -> int:
    lines = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
    return lines


def median_result(results: list[Result]) -> Result:
    """The run with the median throughput (its latencies with it); errors are summed over all runs."""
    ordered = sorted(results, key=lambda r: r.rps)
    chosen = ordered[len(ordered) // 2]
    chosen.errors = sum(r.errors for r in results)
    chosen.rss_max_mb = max(r.rss_max_mb for r in results)
    return chosen


def export_documents(port: int, folder: Path) -> dict:
    """The bytes iamcap serves, for the bare app to serve too."""
    folder.mkdir()
    _, _, boundary = get(port, "/policy/aws/permission-boundary/deny-iam-admin")
    _, _, identity = get(port, "/policy/aws/identity/deny-iam-admin")
    _, headers, plain = get(port, "/access-capabilities/aws")
    _, gz_headers, packed = get(port, "/access-capabilities/aws", {"Accept-Encoding": "gzip"})
    assert gz_headers.get("Content-Encoding") == "gzip", "the full map has no gzip form"
    meta = {"map_etag": headers["ETag"]}
    (folder / "permission-boundary.json").write_bytes(boundary)
    (folder / "identity.json").write_bytes(identity)
    (folder / "map.json").write_bytes(plain)
    (folder / "map.json.gz").write_bytes(packed)
    (folder / "meta.json").write_text(json.dumps(meta))
    return {**meta, "map_bytes": len(plain), "map_gzip_bytes": len(packed), "policy_bytes": len(boundary)}


def machine(gen, loop: str) -> dict:
    import aiohttp

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "service"], cwd=ROOT, capture_output=True, text=True).stdout
        commit += " (service/ has uncommitted changes)" if dirty.strip() else ""
    except OSError:
        commit = "unknown"
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": f"{os.cpu_count()} (usable {len(os.sched_getaffinity(0))})",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "event loop": loop,
        "load generator": f"{gen.version}" if isinstance(gen, Wrk) else gen.name + f"; {gen.version}",
        "commit": commit,
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def fmt_ratio(ours: Result, bare: Result | None) -> str:
    return f"{ours.rps / bare.rps:.2f}" if bare and bare.rps else "-"


def render(info: dict, args, startup: list[float], rss_ready: list[float], rows, variants, notes) -> str:
    lines = ["## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += [
        "",
        f"Load: {args.threads} threads, {args.connections} connections, {args.duration:g} s per endpoint "
        f"after {args.warmup:g} s warm-up, median of {args.repeat} run(s). iamcap with its default "
        "configuration (all middleware on, default access log); the bare app is plain aiohttp, no middleware, "
        "access log off, same bytes.",
        "",
        "## Startup and memory",
        "",
        "| | value |",
        "|---|---|",
        f"| startup, process start to /readyz 200 (median of {len(startup)}) | {statistics.median(startup):.2f} s "
        f"(runs: {', '.join(f'{s:.2f}' for s in startup)}) |",
        f"| RSS once ready | {statistics.median(rss_ready):.1f} MB |",
        f"| RSS under load (peak over all runs) | {max((r[1].rss_max_mb for r in rows), default=0):.1f} MB |",
        "",
        "## Throughput and latency",
        "",
        "| endpoint | req/s | p50 ms | p99 ms | errors | bytes/resp | CPU µs/req | bare req/s | bare CPU µs/req | ratio to bare (req/s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint, ours, bare in rows:
        lines.append(
            f"| {endpoint.name} | {ours.rps:,.0f} | {ours.p50_ms:.2f} | {ours.p99_ms:.2f} | {ours.errors} | "
            f"{ours.bytes_per_response:,.0f} | {ours.cpu_us:.0f} | {f'{bare.rps:,.0f}' if bare else '-'} | "
            f"{f'{bare.cpu_us:.0f}' if bare else '-'} | {fmt_ratio(ours, bare)} |"
        )
    if variants:
        lines += [
            "",
            "## Variants (extra environment; ratio to the default server measured just before)",
            "",
            "| variant | endpoint | req/s | p50 ms | p99 ms | errors | CPU µs/req | default req/s | default CPU µs/req | ratio (req/s) |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for label, endpoint, ours, base in variants:
            lines.append(
                f"| {label} | {endpoint.name} | {ours.rps:,.0f} | {ours.p50_ms:.2f} | {ours.p99_ms:.2f} | "
                f"{ours.errors} | {ours.cpu_us:.0f} | {base.rps:,.0f} | {base.cpu_us:.0f} | {ours.rps / base.rps:.2f} |"
            )
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines) + "\n"


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    label, _, assignments = text.partition(":")
    env = {}
    for item in filter(None, assignments.split(",")):
        key, _, value = item.partition("=")
        env[key.strip()] = value
    if not label or not env:
        raise argparse.ArgumentTypeError("a variant is 'LABEL:KEY=VALUE[,KEY=VALUE]'")
    return label, env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 5)), help="seconds per endpoint")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of unmeasured load before each run")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 2)))
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", 50)))
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("BENCH_REPEAT", 1)), help="runs per endpoint; the median is kept")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument("--only", action="append", help="run endpoints whose name contains this; repeatable")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-aiohttp ceiling")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--variant", action="append", type=parse_variant, default=[],
                        help="'LABEL:KEY=VALUE,...': also measure a server started with this environment")
    parser.add_argument("--markdown", default=str(ROOT / "bench" / "results.md"), help="where to write the results ('-': nowhere)")
    args = parser.parse_args(argv)

    endpoints = [e for e in ENDPOINTS if not args.only or any(o in e.name for o in args.only)]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="iamcap-bench-") as tmp:
        workdir = Path(tmp)
        gen = load_generator(args, workdir)
        if not isinstance(gen, Wrk):
            notes.append("wrk was not found: a Python aiohttp client pool generated the load. It is much slower than "
                         "wrk and shares the 2 cores with the server, so it saturates before the server does: req/s "
                         "are lower and ratios to bare are too close to 1. Compare CPU us/req instead; bytes/resp "
                         "count bodies only.")
            print(f"NOTE: {notes[-1]}", file=sys.stderr)

        startup, rss_ready = [], []
        server = None
        for i in range(args.startup_runs):
            if server is not None:
                server.stop()
            server = start_iamcap("iamcap", {}, workdir)
            startup.append(server.startup_s)
            rss_ready.append(server.rss_ready_mb)
            print(f"startup {i + 1}: {server.startup_s:.2f} s to ready, RSS {server.rss_ready_mb:.1f} MB", file=sys.stderr)
        assert server is not None
        loop = "uvloop" if server.uses_uvloop() else "asyncio"
        docs = export_documents(server.port, workdir / "docs")
        bare = None
        if not args.no_bare:
            port = free_port()
            command = [sys.executable, str(ROOT / "bench" / "bare_app.py"), "--port", str(port), "--docs", str(workdir / "docs")]
            if loop == "uvloop":
                command.append("--uvloop")  # the ceiling runs on the same loop as iamcap
            bare = Server("bare", command, dict(os.environ), port, workdir)
        info = machine(gen, loop)
        notes.append(f"Documents: full map {docs['map_bytes']:,} bytes ({docs['map_gzip_bytes']:,} gzipped), "
                     f"permission-boundary policy {docs['policy_bytes']:,} bytes.")

        rows = []
        try:
            for endpoint in endpoints:
                headers = {k: v.format(**docs) for k, v in endpoint.headers.items()}
                ours_runs, bare_runs = [], []
                for _ in range(args.repeat):
                    ours_runs.append(measure(gen, server, endpoint, headers, args))
                    if bare is not None and endpoint.bare:
                        bare_runs.append(measure(gen, bare, endpoint, headers, args))
                ours = median_result(ours_runs)
                ceiling = median_result(bare_runs) if bare_runs else None
                rows.append((endpoint, ours, ceiling))
                print(f"{endpoint.name:34} {ours.rps:9,.0f} req/s  p50 {ours.p50_ms:6.2f} ms  p99 {ours.p99_ms:6.2f} ms  "
                      f"errors {ours.errors}  cpu {ours.cpu_us:4.0f} us/req"
                      + (f"  | bare {ceiling.rps:9,.0f} req/s  cpu {ceiling.cpu_us:4.0f} us/req  ratio {fmt_ratio(ours, ceiling)}" if ceiling else ""),
                      file=sys.stderr)
            log_bytes, log_lines = server.log_path.stat().st_size, count_lines(server.log_path)
            notes.append(f"iamcap wrote {log_bytes / 1e6:,.1f} MB of log output during the run: {log_lines:,} lines, "
                         f"{log_bytes / max(log_lines, 1):,.0f} bytes per line (one access line per request, warm-ups included).")

            variants = []
            for label, env in args.variant:
                vserver = start_iamcap(label, env, workdir)
                try:
                    for endpoint in endpoints:
                        if endpoint.name not in VARIANT_ENDPOINTS:
                            continue
                        headers = {k: v.format(**docs) for k, v in endpoint.headers.items()}
                        base = median_result([measure(gen, server, endpoint, headers, args) for _ in range(args.repeat)])
                        got = median_result([measure(gen, vserver, endpoint, headers, args) for _ in range(args.repeat)])
                        variants.append((label, endpoint, got, base))
                        print(f"variant {label}: {endpoint.name:30} {got.rps:9,.0f} req/s vs {base.rps:9,.0f}", file=sys.stderr)
                finally:
                    vserver.stop()
        finally:
            server.stop()
            if bare is not None:
                bare.stop()
        info["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    report = render(info, args, startup, rss_ready, rows, variants, notes)
    print()
    print(report)
    if args.markdown != "-":
        Path(args.markdown).write_text("# iamcap benchmark results\n\nWritten by `make bench` (bench/bench.py); "
                                       "see docs/benchmarks.md for the method.\n\n" + report)
        print(f"(written to {args.markdown})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
