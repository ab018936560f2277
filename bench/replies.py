"""Reply benchmark: sustained replies per second with the outside world faked by local servers
(the LLM answers after 1.0 s, each Graph API send after 0.2 s), latency from webhook to send,
and the resident memory of the whole worker fleet.

    python bench/replies.py [--rate 40] [--seconds 20] [--warmup 5] [--workers 80] [--processes 2]

`--workers` is how many jobs the fleet runs at once, spread as threads over `--processes`
worker processes (`flask worker -n P -t W/P`); `--processes 0` runs one process per job
(`-n W`, the old shape) for comparison. The first `--warmup` seconds of the same traffic
are reported on their own line and kept out of the sustained figures: a new worker process
opens its database connections and fills its caches under that load.

Targets: >= 40 replies/s on this 2-core machine, p95 webhook->send <= 2.5 s.
Needs PostgreSQL and Redis on loopback (BENCH_PG, BENCH_REDIS_URL).
"""
from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT, bench_env, cpu_by_role, fresh_database, gunicorn, machine_speed, prepare, rss_kb, settle,
    signed_message)
from bench.llm_stub import LLMStub  # noqa: E402
from tests.graph_stub import GraphStub  # noqa: E402


def sent_at(graph: GraphStub) -> dict[str, float]:
    """When each customer's first reply was sent (recorded by the stub per request)."""
    out: dict[str, float] = {}
    with graph.lock:
        for at, body in graph.sent_log:
            out.setdefault(body.get("recipient", {}).get("id"), at)
    return out


def fleet_pids(parent: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.split("\n"):
        if line.strip():
            pid, ppid = map(int, line.split())
            children.setdefault(ppid, []).append(pid)
    seen, todo = [], [parent]
    while todo:
        pid = todo.pop()
        seen.append(pid)
        todo.extend(children.get(pid, []))
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=40.0, help="new customer messages per second")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--warmup", type=float, default=5.0,
                        help="seconds of the same traffic first, reported apart (new processes "
                             "open connections and fill caches)")
    parser.add_argument("--workers", type=int, default=80, help="jobs the fleet runs at once")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (0: one per job)")
    parser.add_argument("--llm-delay", type=float, default=1.0)
    parser.add_argument("--send-delay", type=float, default=0.2)
    parser.add_argument("--timeline", action="store_true", help="print p50/p95 per second of posting")
    args = parser.parse_args()

    speed_before = machine_speed()
    with LLMStub(delay=args.llm_delay) as llm, GraphStub(send_delay=args.send_delay) as graph:
        env = bench_env(fresh_database("closer_bench_replies"), GROQ_API_KEY="bench-key",
                        GROQ_BASE_URL=llm.base_url, GRAPH_API_BASE=graph.base_url)
        prepare(env)
        shape = (["-n", str(args.workers)] if args.processes <= 0 else
                 ["-n", str(args.processes), "-t", str(-(-args.workers // args.processes))])
        workers = subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "worker", *shape],
                                   cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                   stderr=open("/tmp/closer-bench-workers.log", "w"))
        time.sleep(3)
        settle(workers.pid)  # the pool forks its processes, which open their connections
        posted: dict[str, float] = {}
        memory = []
        with gunicorn("run:app", env) as url:
            host = urlparse(url)
            warm = int(args.rate * args.warmup)
            total = warm + int(args.rate * args.seconds)
            start = time.monotonic()

            def sampler():
                while time.monotonic() - start < args.warmup + args.seconds + 15:
                    memory.append(rss_kb(fleet_pids(workers.pid)))
                    time.sleep(2)

            threading.Thread(target=sampler, daemon=True).start()
            conn = http.client.HTTPConnection(host.hostname, host.port)
            cpu_start = cpu_by_role(set(fleet_pids(workers.pid)))
            for i in range(total):
                if i == warm:
                    cpu_before = cpu_by_role(set(fleet_pids(workers.pid)))
                due = start + i / args.rate
                time.sleep(max(0.0, due - time.monotonic()))
                sig, body = signed_message(i, customers=total)
                conn.request("POST", "/webhooks/meta", body=body, headers={
                    "X-Hub-Signature-256": sig, "Content-Type": "application/json"})
                conn.getresponse().read()
                posted[f"psid-{i}"] = time.monotonic()
            deadline = time.monotonic() + 60
            while len(sent_at(graph)) < total and time.monotonic() < deadline:
                time.sleep(0.5)
            cpu_after = cpu_by_role(set(fleet_pids(workers.pid)))
        workers.terminate()
        try:
            workers.wait(timeout=30)
        except subprocess.TimeoutExpired:
            print("worker fleet did not stop within 30 s of SIGTERM; killed", file=sys.stderr)
            workers.kill()
    speed_after = machine_speed()
    sent = sent_at(graph)
    measured = {k: at for k, at in posted.items() if int(k.split("-")[1]) >= warm}
    warming = {k: at for k, at in posted.items() if int(k.split("-")[1]) < warm}

    def latencies_of(which: dict) -> list[float]:
        return sorted(sent[k] - which[k] for k in which if k in sent)

    def p95_of(values: list[float]) -> float:
        return values[int(0.95 * (len(values) - 1))] if values else float("nan")

    if args.timeline:  # p95 per second of posting, warm-up included: when was it steady?
        start_at = min(posted.values())
        by_second: dict[int, list[float]] = {}
        for k, at in posted.items():
            if k in sent:
                by_second.setdefault(int(at - start_at), []).append(sent[k] - at)
        print("timeline (s: p50/p95): " + "  ".join(
            f"{sec}: {statistics.median(v):.1f}/{p95_of(sorted(v)):.1f}" for sec, v in sorted(by_second.items())))
    latencies = latencies_of(measured)
    done = len(latencies)
    # the rate replies went out at, first send to last: over a finite run, counting from the
    # first post would charge one reply's latency (~1.7 s) to the throughput
    sends = sorted(sent[k] for k in measured if k in sent)
    rate = (done - 1) / (sends[-1] - sends[0]) if done > 1 else float("nan")
    tail = sends[-1] - max(measured.values()) if done else float("nan")
    p95 = p95_of(latencies)
    peak_rss, peak_pss = max(memory) if memory else (0, 0)
    if warming:
        early = latencies_of(warming)
        print(f"warm-up             : {len(warming)} messages in the first {args.warmup:.0f} s, "
              f"{len(early)} answered, p50 {statistics.median(early):.2f} s  p95 {p95_of(early):.2f} s"
              " (not in the figures below)" if early else "warm-up             : none answered")
    print(f"messages posted     : {len(measured)} at {args.rate:.0f}/s for {args.seconds} s")
    print(f"replies sent        : {done}  (LLM calls in all {llm.calls}); the last {tail:.2f} s after the last post")
    print(f"sustained throughput: {rate:.1f} replies/s, first send to last  (target >= 40)")
    print(f"webhook -> send     : p50 {statistics.median(latencies):.2f} s  p95 {p95:.2f} s  (target p95 <= 2.5 s)"
          if done else "webhook -> send     : none")
    fleet = (f"{args.workers} processes" if args.processes <= 0 else
             f"{args.processes} processes x {-(-args.workers // args.processes)} threads")
    print(f"worker fleet        : {fleet}, peak RSS {peak_rss / 1024:.0f} MiB, "
          f"peak PSS {peak_pss / 1024:.0f} MiB")
    cost = {role: (cpu_after.get(role, 0) - cpu_before.get(role, 0)) * 1000 / max(len(measured), 1)
            for role in cpu_after}
    print(f"machine speed       : a fixed Python loop took {speed_before:.0f} ms before the run, "
          f"{speed_after:.0f} ms after (lower is faster; figures scale with it)")
    if warming:
        early_cost = {role: (cpu_before.get(role, 0) - cpu_start.get(role, 0)) * 1000 / len(warming)
                      for role in cpu_before}
        print("CPU per message, warm-up: " + ", ".join(f"{role} {ms:.1f} ms" for role, ms in sorted(
            early_cost.items(), key=lambda kv: -kv[1])) + f"  (total {sum(early_cost.values()):.1f} ms)")
    print("CPU per message     : " + ", ".join(f"{role} {ms:.1f} ms" for role, ms in sorted(
        cost.items(), key=lambda kv: -kv[1])) + f"  (total {sum(cost.values()):.1f} ms)")


if __name__ == "__main__":
    main()
