"""Where a reply's CPU goes: one message at a time through the real code, in this process.

    python bench/reply_cpu.py [--messages 300] [--profile 25]

Each message is stored as a signed delivery would be, processed by the ingest job's code
and answered by the reply job's code (the LLM and the Graph API are local stubs answering at
once, so only our own work is measured). Prints CPU milliseconds and SQL statements per
message for each phase, and with --profile the top functions by own time. RQ's per-job cost
is not in these figures (`bench/replies.py` measures the whole fleet).
Needs PostgreSQL and Redis on loopback (BENCH_PG, BENCH_REDIS_URL).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, fresh_database, prepare, signed_message  # noqa: E402
from bench.llm_stub import LLMStub  # noqa: E402
from tests.graph_stub import GraphStub  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", type=int, default=0, help="print this many top functions")
    parser.add_argument("--sql", action="store_true", help="print the last message's statements")
    args = parser.parse_args()

    with LLMStub(delay=0) as llm, GraphStub() as graph:
        env = bench_env(fresh_database("closer_bench_cpu"), GROQ_API_KEY="bench-key",
                        GROQ_BASE_URL=llm.base_url, GRAPH_API_BASE=graph.base_url)
        prepare(env)
        os.environ.update(env)
        from sqlalchemy import event

        from app import create_app
        from app.extensions import db
        from sqlalchemy import select

        from app.models import Direction, Message, WebhookEvent, utcnow
        from app.services import replies, webhook_events

        app = create_app()
        statements = {"n": 0, "log": [], "tx": 0}

        def count(conn, cursor, statement, *rest):
            statements["n"] += 1
            statements["log"].append(" ".join(statement.split())[:160])
            if os.environ.get("BENCH_TRACE") and os.environ["BENCH_TRACE"] in statement:
                import traceback
                statements["log"].append("".join(traceback.format_stack(limit=14)[:-3]))

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", count)

            def ended(conn):  # a transaction's end (its BEGIN and COMMIT are round trips too)
                statements["tx"] += 1
                statements["log"].append("-- end of transaction")

            event.listen(db.engine, "commit", ended)
            event.listen(db.engine, "rollback", ended)

        def one(i: int, totals: dict | None) -> None:
            _, body = signed_message(i, customers=10 ** 9)
            with app.app_context():
                row = WebhookEvent(source="meta", body=body.decode(), received_at=utcnow())
                db.session.add(row)
                db.session.commit()
                event_id = row.id
            phases = []
            t0, s0, x0 = time.thread_time(), statements["n"], statements["tx"]
            with app.app_context():
                webhook_events.process_meta(event_id)
                message_id, tenant_id, conv_id = db.session.execute(select(
                    Message.id, Message.tenant_id, Message.conversation_id).where(
                    Message.direction == Direction.IN).order_by(Message.id.desc()).limit(1)).one()
            phases.append(("ingest job", time.thread_time() - t0, statements["n"] - s0 - 1,
                           statements["tx"] - x0 - 1))
            t0, s0, x0 = time.thread_time(), statements["n"], statements["tx"]
            with app.app_context():
                outcome = replies.answer(message_id, tenant_id, conv_id)  # as the delivery's job does
            phases.append(("answer job", time.thread_time() - t0, statements["n"] - s0,
                           statements["tx"] - x0))
            assert outcome == "answered", outcome
            if totals is not None:
                for name, cpu, n, tx in phases:
                    total = totals.setdefault(name, [0.0, 0, 0])
                    total[0] += cpu
                    total[1] += n
                    total[2] += tx

        for i in range(args.warmup):
            one(10 ** 6 + i, None)
        totals: dict = {}
        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        if profiler:
            profiler.enable()
        for i in range(args.messages):
            statements["log"] = []
            one(i, totals)
        if profiler:
            profiler.disable()
        print(f"messages: {args.messages} (after {args.warmup} to warm up); sends {len(graph.sends)}")
        for name, (cpu, n, tx) in totals.items():
            print(f"{name:12}: {cpu * 1000 / args.messages:6.2f} ms CPU, {n / args.messages:5.1f} SQL statements"
                  f" in {tx / args.messages:4.1f} transactions")
        if args.sql:
            print("\n".join(statements["log"]))
        if profiler:
            stats = pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_SORT", "tottime"))
            stats.print_stats(os.environ.get("BENCH_FILTER", ""), args.profile)
            if os.environ.get("BENCH_CALLERS"):
                stats.print_callers(os.environ["BENCH_CALLERS"])


if __name__ == "__main__":
    main()
