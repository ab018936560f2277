"""Ingest benchmark: signed Messenger deliveries posted by wrk over loopback to gunicorn
(2 workers) on PostgreSQL + Redis, against a bare Flask endpoint on the same server settings,
in the same run. Prints throughput of both, their ratio (target >= 0.30) and p99 latency at 8
connections (target <= 25 ms).

    python bench/ingest.py [--seconds 15] [--connections 8]

Needs PostgreSQL and Redis on loopback (BENCH_PG, BENCH_REDIS_URL) and wrk (apt-get install wrk).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_env, fresh_database, gunicorn, prepare, signed_message  # noqa: E402


_offset = 0


def run_wrk(url: str, bodies: Path, seconds: int, connections: int) -> dict:
    global _offset
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(ROOT / "bench/wrk_bodies.lua"),
         url, "--", str(bodies), str(_offset)], capture_output=True, text=True, check=True).stdout
    _offset += 40_000
    found = re.search(r"RESULT requests=(\d+) errors=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+)", out)
    requests, errors, duration, p50, p99 = map(int, found.groups())
    return {"rps": requests / (duration / 1e6), "requests": requests, "errors": errors,
            "p50_ms": p50 / 1000, "p99_ms": p99 / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--bodies", type=int, default=200_000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install wrk")

    env = bench_env(fresh_database("closer_bench_ingest"))
    prepare(env)
    with tempfile.TemporaryDirectory() as tmp:
        bodies = Path(tmp) / "bodies.tsv"
        with bodies.open("w") as f:
            for i in range(args.bodies):
                sig, body = signed_message(i)
                f.write(f"{sig}\t{body.decode()}\n")
        with gunicorn("bench.bare_app:app", env) as url:
            run_wrk(url, bodies, 3, args.connections)  # warm-up
            bare = run_wrk(url, bodies, args.seconds, args.connections)
        with gunicorn("run:app", env) as url:
            run_wrk(url, bodies, 3, args.connections)
            ours = run_wrk(url, bodies, args.seconds, args.connections)
    check = subprocess.run([sys.executable, "-c", (
        "from app import create_app\nfrom app.extensions import db\nfrom app.models import WebhookEvent\n"
        "app=create_app()\nwith app.app_context(): print(db.session.query(WebhookEvent).count())")],
        cwd=ROOT, env=env, capture_output=True, text=True)
    print(f"bare Flask endpoint : {bare['rps']:8.1f} req/s  p50 {bare['p50_ms']:.2f} ms  p99 {bare['p99_ms']:.2f} ms  errors {bare['errors']}")
    print(f"/webhooks/meta      : {ours['rps']:8.1f} req/s  p50 {ours['p50_ms']:.2f} ms  p99 {ours['p99_ms']:.2f} ms  errors {ours['errors']}")
    print(f"deliveries stored   : {check.stdout.strip()} (of {ours['requests']} measured + warm-up)")
    print(f"throughput ratio    : {ours['rps'] / bare['rps']:.3f}  (target >= 0.30)")
    print(f"p99 at {args.connections} connections: {ours['p99_ms']:.2f} ms  (target <= 25 ms)")


if __name__ == "__main__":
    main()
