"""Server instructions per request, counted by valgrind's callgrind: the A/B tool for a noisy machine.

req/s and CPU time on a shared 2-core VM move by 10-20 % from run to run; an instruction count does
not (the same code, requests and PYTHONHASHSEED give the same count whatever else runs). It counts
user space only: kernel time (socket writes, the log file) is not in it, so it ranks changes to Python
code, it does not predict req/s.

The server runs under callgrind with instrumentation off (startup at near full speed), gets `--warmup`
keep-alive requests, then instrumentation goes on for `--requests` more, sent one at a time from this
process, and off again.

    .venv/bin/python bench/callgrind.py [--requests 500] [--env IAMCAP_ACCESS_LOG=false] [--bare] [PATH ...]

Needs valgrind (Debian package `valgrind`). Loopback only; bounded in requests and time.
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402  (same folder)

DEFAULT_PATHS = (
    "/policy/aws/permission-boundary/deny-iam-admin",
    "/access-capabilities/aws/actions/iam:PassRole",
    "/healthz",
)


def _send(conn: http.client.HTTPConnection, path: str, count: int) -> None:
    for _ in range(count):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        if response.status >= 500:
            raise RuntimeError(f"{path}: {response.status}")


def count(command: list[str], env: dict, port: int, path: str, warmup: int, requests: int, workdir: Path) -> float:
    out = workdir / f"callgrind.{port}"
    log = open(workdir / f"server.{port}.log", "wb")
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}", *command],
        cwd=bench.ROOT, env={**env, "PYTHONHASHSEED": "0"}, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited {proc.returncode}; see {log.name}")
            try:
                if bench.get(port, "/readyz", timeout=30)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("not ready under valgrind in 600 s")
            time.sleep(0.5)
        conn = http.client.HTTPConnection(bench.HOST, port, timeout=60)
        _send(conn, path, warmup)
        subprocess.run(["callgrind_control", "--instr=on", str(proc.pid)], check=True, capture_output=True)
        _send(conn, path, requests)
        subprocess.run(["callgrind_control", "--instr=off", str(proc.pid)], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "--dump", str(proc.pid)], check=True, capture_output=True)
        conn.close()
    finally:
        proc.send_signal(2)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    total = 0
    for part in workdir.glob(f"callgrind.{port}*"):
        for line in part.read_text().splitlines():
            if line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
    return total / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the iamcap server; repeatable")
    parser.add_argument("--bare", action="store_true", help="also count bench/bare_app.py (paths it serves)")
    args = parser.parse_args(argv)
    extra = dict(item.split("=", 1) for item in args.env)
    with tempfile.TemporaryDirectory(prefix="iamcap-callgrind-") as tmp:
        workdir = Path(tmp)
        docs = None
        if args.bare:
            server = bench.start_iamcap("export", {}, workdir)
            try:
                docs = bench.export_documents(server.port, workdir / "docs")
            finally:
                server.stop()
        for path in args.paths:
            port = bench.free_port()
            ours = count(bench.iamcap_command(), bench.iamcap_env(port, extra), port, path, args.warmup, args.requests, workdir)
            line = f"{ours:10,.0f} instructions/request  iamcap {path}"
            if docs is not None and path in bench.BARE_PATHS:
                port = bench.free_port()
                command = [sys.executable, str(bench.ROOT / "bench" / "bare_app.py"), "--port", str(port), "--docs", str(workdir / "docs")]
                bare = count(command, dict(os.environ), port, path, args.warmup, args.requests, workdir)
                line += f"  | bare {bare:10,.0f}  ratio {bare / ours:.2f}"
            print(line + (f"  {extra}" if extra else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
