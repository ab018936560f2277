"""Ingest benchmark: signed Messenger deliveries posted by wrk over loopback to gunicorn
(2 workers) on PostgreSQL + Redis, against a bare Flask endpoint on the same server settings,
in the same run: rounds alternate between the two (a noisy VM minute then hits both alike).
Prints each round, the median ratio (target >= 0.30) and the median p99 latency at 8
connections (target <= 25 ms).

    python bench/ingest.py [--seconds 10] [--rounds 3] [--connections 8]

Needs PostgreSQL and Redis on loopback (BENCH_PG, BENCH_REDIS_URL) and wrk (apt-get install wrk).
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
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
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
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
        rounds = []
        with gunicorn("bench.bare_app:app", env) as bare_url, gunicorn("run:app", env) as our_url:
            run_wrk(bare_url, bodies, 3, args.connections)  # warm-up
            run_wrk(our_url, bodies, 3, args.connections)
            for _ in range(args.rounds):  # alternate, so a noisy minute hits both alike
                bare = run_wrk(bare_url, bodies, args.seconds, args.connections)
                ours = run_wrk(our_url, bodies, args.seconds, args.connections)
                rounds.append((bare, ours))
    check = subprocess.run([sys.executable, "-c", (
        "from app import create_app\nfrom app.extensions import db\nfrom app.models import WebhookEvent\n"
        "app=create_app()\nwith app.app_context(): print(db.session.query(WebhookEvent).count())")],
        cwd=ROOT, env=env, capture_output=True, text=True)
    for i, (bare, ours) in enumerate(rounds, 1):
        print(f"round {i}: bare {bare['rps']:7.1f} req/s (p99 {bare['p99_ms']:.2f} ms) | /webhooks/meta "
              f"{ours['rps']:7.1f} req/s (p50 {ours['p50_ms']:.2f} ms, p99 {ours['p99_ms']:.2f} ms, "
              f"errors {ours['errors']}) | ratio {ours['rps'] / bare['rps']:.3f}")
    measured = sum(ours["requests"] for _, ours in rounds)
    ratio = statistics.median(ours["rps"] / bare["rps"] for bare, ours in rounds)
    p99 = statistics.median(ours["p99_ms"] for _, ours in rounds)
    print(f"deliveries stored   : {check.stdout.strip()} (of {measured} measured + warm-up)")
    print(f"throughput ratio    : {ratio:.3f} median of {len(rounds)} rounds  (target >= 0.30)")
    print(f"p99 at {args.connections} connections: {p99:.2f} ms median of {len(rounds)} rounds  (target <= 25 ms)")

if __name__ == "__main__":
    main()
