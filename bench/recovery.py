"""Recovery benchmark: a burst of new customers while the outside world fails now and then and
one of two default workers is SIGKILLed halfway. Does every customer get an answer, and how
long does the slowest wait?

    python bench/recovery.py [--customers 240] [--seconds 24] [--kill-at 0.5] [--llm-fail 0.1]
                             [--send-fail 0.1] [--wait 240]

`--customers` new customers each post one message through the real webhook (gunicorn), evenly
within `--seconds`. The LLM (a local stub answering after `--llm-delay` s) fails that share of
calls with a 500, the Send API stub (`--send-delay` s) answers that share of sends with Meta's
transient error. Two `flask --app run worker` processes with no flags (the default shape) run
on real Redis and PostgreSQL; when `--kill-at` of the customers have posted, one of them is
SIGKILLed with its jobs in flight and not restarted. Figures: answered/total within
`--wait` seconds of the last post, and p50/p95/max from post to reply.

Targets: every customer answered, p95 <= 10 s, slowest <= 45 s.
Needs PostgreSQL and Redis on loopback (BENCH_PG, BENCH_REDIS_URL).
"""
from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    REDIS_URL, ROOT, bench_env, fresh_database, gunicorn, machine_speed, prepare, settle, signed_message)
from bench.llm_stub import LLMStub  # noqa: E402
from bench.replies import sent_at  # noqa: E402
from tests.graph_stub import GraphStub  # noqa: E402

LOG = "/tmp/closer-bench-recovery-worker-{}.log"


def in_flight(pid: int) -> int:
    """Jobs the worker process `pid` is running now: entries of RQ's started registries
    whose worker is one of its threads (named after the process: app.jobs.liveness)."""
    import redis

    from app.jobs import QUEUE_NAMES

    connection = redis.Redis.from_url(REDIS_URL)
    entries = [e.decode() for name in QUEUE_NAMES for e in connection.zrange(f"rq:wip:{name}", 0, -1)]
    with connection.pipeline(transaction=False) as pipe:
        for entry in entries:
            pipe.hget(f"rq:execution:{entry}", "worker_name")
        workers = pipe.execute()
    return sum(1 for w in workers if w and w.decode().split("-")[2:3] == [str(pid)])


def percentile(values: list[float], q: float) -> float:
    return values[int(q * (len(values) - 1))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=240)
    parser.add_argument("--seconds", type=float, default=24.0, help="the posts are spread over this long")
    parser.add_argument("--kill-at", type=float, default=0.5, help="share of posts after which a worker dies")
    parser.add_argument("--no-kill", action="store_true", help="the same run with both workers alive")
    parser.add_argument("--llm-delay", type=float, default=1.0)
    parser.add_argument("--send-delay", type=float, default=0.2)
    parser.add_argument("--llm-fail", type=float, default=0.1, help="share of LLM calls answered with a 500")
    parser.add_argument("--send-fail", type=float, default=0.1, help="share of sends answered with a 500")
    parser.add_argument("--wait", type=float, default=240.0, help="seconds after the last post to wait")
    parser.add_argument("--worker-args", default="", help="flags for both workers (default: none)")
    args = parser.parse_args()

    speed_before = machine_speed()
    with LLMStub(delay=args.llm_delay, fail_rate=args.llm_fail) as llm, \
            GraphStub(send_delay=args.send_delay, fail_rate=args.send_fail) as graph:
        env = bench_env(fresh_database("closer_bench_recovery"), GROQ_API_KEY="bench-key",
                        GROQ_BASE_URL=llm.base_url, GRAPH_API_BASE=graph.base_url, WORKER_LOG_LEVEL="WARNING")
        prepare(env)
        workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker",
                                     *args.worker_args.split()], cwd=ROOT, env=env,
                                    stdout=subprocess.DEVNULL, stderr=open(LOG.format(n), "w"),
                                    start_new_session=True) for n in range(2)]
        time.sleep(3)
        for w in workers:
            settle(w.pid)
        posted: dict[str, float] = {}
        killed = None
        with gunicorn("run:app", env) as url:
            host = urlparse(url)
            conn = http.client.HTTPConnection(host.hostname, host.port)
            start = time.monotonic()
            kill_after = int(args.customers * args.kill_at)
            for i in range(args.customers):
                if i == kill_after and not args.no_kill:
                    victim = workers[0]  # both take jobs from the same queues
                    running = in_flight(victim.pid)
                    os.killpg(victim.pid, signal.SIGKILL)
                    killed = (victim.pid, running, time.monotonic() - start)
                due = start + i * args.seconds / args.customers
                time.sleep(max(0.0, due - time.monotonic()))
                sig, body = signed_message(i, customers=args.customers)
                conn.request("POST", "/webhooks/meta", body=body, headers={
                    "X-Hub-Signature-256": sig, "Content-Type": "application/json"})
                conn.getresponse().read()
                posted[f"psid-{i}"] = time.monotonic()
            last_post = time.monotonic()
            while len(sent_at(graph)) < args.customers and time.monotonic() - last_post < args.wait:
                time.sleep(0.5)
            waited = time.monotonic() - last_post
        for w in workers:
            if w.poll() is None:
                os.killpg(w.pid, signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(w.pid, signal.SIGKILL)
    speed_after = machine_speed()
    sent = sent_at(graph)
    latencies = sorted(sent[k] - at for k, at in posted.items() if k in sent)
    missing = sorted(set(posted) - set(sent), key=lambda k: int(k.split("-")[1]))
    print(f"customers posted    : {len(posted)} within {args.seconds:.0f} s through the webhook")
    print(f"faults              : LLM {llm.failed} of {llm.calls} calls failed, Send API {graph.failed} "
          f"of {graph.failed + len(graph.sent_log)} sends failed" + (
              f"; worker {killed[0]} SIGKILLed {killed[2]:.1f} s in with {killed[1]} jobs in flight"
              if killed else "; no worker killed"))
    print(f"answered            : {len(latencies)}/{len(posted)} "
          f"({'all' if not missing else 'missing ' + ', '.join(missing[:10])}) "
          f"{waited:.0f} s after the last post  (target: all)")
    if latencies:
        print(f"post -> reply       : p50 {statistics.median(latencies):.2f} s  p95 {percentile(latencies, 0.95):.2f} s"
              f"  max {latencies[-1]:.2f} s  (targets p95 <= 10 s, max <= 45 s)")
    if killed:
        cut = kill_after
        for label, keys in (("posted before kill", [f"psid-{i}" for i in range(cut)]),
                            ("posted after kill", [f"psid-{i}" for i in range(cut, len(posted))])):
            part = sorted(sent[k] - posted[k] for k in keys if k in sent)
            if part:
                print(f"  {label:18}: {len(part)}/{len(keys)} answered, p50 {statistics.median(part):.2f} s  "
                      f"p95 {percentile(part, 0.95):.2f} s  max {part[-1]:.2f} s")
    lag = max(posted[f"psid-{i}"] - (start + i * args.seconds / args.customers) for i in range(len(posted)))
    print(f"posting             : the last post went out {lag:.2f} s behind schedule at most")
    replies_per = {}
    with graph.lock:
        for _, body in graph.sent_log:
            rid = body.get("recipient", {}).get("id")
            replies_per[rid] = replies_per.get(rid, 0) + 1
    doubled = sum(1 for n in replies_per.values() if n > 1)
    print(f"duplicates          : {doubled} customers got more than one reply")
    print(f"machine speed       : a fixed Python loop took {speed_before:.0f} ms before the run, "
          f"{speed_after:.0f} ms after (lower is faster)")


if __name__ == "__main__":
    main()
