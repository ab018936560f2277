"""Shared set-up for the benchmarks: a fresh PostgreSQL database, a tenant with a channel,
gunicorn processes and signed Meta bodies. Benchmarks print figures; they assert nothing."""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
PG_ROOT = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/1")
APP_SECRET = "bench-app-secret"
PAGE_ID = "bench-page-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(name: str) -> str:
    admin = create_engine(f"{PG_ROOT}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{PG_ROOT}/{name}"


def bench_env(database_url: str, **extra) -> dict:
    from cryptography.fernet import Fernet

    return {**os.environ, "CLOSER_ENV": "production", "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL, "SECRET_KEY": "bench-" + "x" * 40,
            "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "META_APP_SECRET": APP_SECRET,
            "META_APP_ID": "424242", "SESSION_COOKIE_SECURE": "false", "PYTHONPATH": str(ROOT),
            # production needs Razorpay's settings to start; the benchmarks place no orders
            "RAZORPAY_KEY_ID": "rzp_test_bench", "RAZORPAY_KEY_SECRET": "bench-secret",
            "RAZORPAY_WEBHOOK_SECRET": "bench-webhook-secret", "RAZORPAY_API_BASE": "http://127.0.0.1:9",
            **extra}


def prepare(env: dict) -> None:
    """Migrate, create roles, one tenant with a Messenger channel and an active campaign."""
    script = f"""
from app import create_app
from app.extensions import appbuilder, db
from app.models import Campaign, CampaignStatus, Channel, Platform, TargetPlatform
from app.services.tenants import create_tenant
from flask_migrate import upgrade
app = create_app()
with app.app_context():
    upgrade(directory="{ROOT / 'migrations'}")
    appbuilder.sm.sync_roles()
    t = create_tenant("Bench Store")
    db.session.add(Channel(tenant_id=t.id, name="Bench page", platform=Platform.MESSENGER,
                           external_id="{PAGE_ID}", access_token="bench-token"))
    db.session.add(Campaign(tenant_id=t.id, name="Bench", status=CampaignStatus.ACTIVE,
                            target_platform=TargetPlatform.ALL, greeting="Hi from the bench!"))
    db.session.commit()
"""
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@contextlib.contextmanager
def gunicorn(app_path: str, env: dict, workers: int = 2, threads: int = 4):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", app_path, "-b", f"127.0.0.1:{port}", "-w", str(workers),
         "--worker-class", "gthread", "--threads", str(threads), "--log-level", "warning"],
        cwd=ROOT, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            break
        time.sleep(0.1)
    settle(proc.pid)  # the workers import the app after the port opens: let them finish
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and all its descendants."""
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,times="], capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    children: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for p, parent, secs in rows:
        children.setdefault(int(parent), []).append(int(p))
        used[int(p)] = float(secs)
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += used.get(p, 0.0)
        todo.extend(children.get(p, []))
    return total


def settle(pid: int, timeout: float = 60.0) -> None:
    """Wait until a freshly started server (a process tree) has booted: its CPU use has
    dropped under a tenth of a core for two readings in a row. Load offered while it still
    imports and connects would measure its start-up, not its service."""
    deadline, quiet, last = time.time() + timeout, 0, tree_cpu(pid)
    while time.time() < deadline and quiet < 2:
        time.sleep(1.0)
        now = tree_cpu(pid)
        quiet = quiet + 1 if now - last < 0.1 else 0
        last = now


def signed_message(i: int, customers: int = 500) -> tuple[str, bytes]:
    now = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": PAGE_ID, "time": now, "messaging": [{
        "sender": {"id": f"psid-{i % customers}"}, "recipient": {"id": PAGE_ID}, "timestamp": now,
        "message": {"mid": f"m_bench_{i}_{now}", "text": f"Is item {i % 37} in stock?"}}]}]}).encode()
    sig = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return sig, body


def rss_kb(pids: list[int]) -> tuple[int, int]:
    """(sum of RSS, sum of PSS) in kB for these processes."""
    rss = pss = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
        except OSError:
            continue
    return rss, pss


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_by_role(fleet: set[int]) -> dict[str, float]:
    """CPU seconds used so far by every live process, grouped by role (the worker fleet,
    gunicorn, PostgreSQL, Redis, this process with its stubs, everything else). Take it twice
    and subtract: the difference is what a run cost, wherever the cost landed."""
    roles: dict[str, float] = {}
    me = os.getpid()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        pid = int(stat.parent.name)
        comm, fields = raw[raw.index("(") + 1:raw.rindex(")")], raw[raw.rindex(")") + 2:].split()
        seconds = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime
        role = ("workers" if pid in fleet else "gunicorn" if "gunicorn" in cmd
                else "postgres" if comm.startswith("postgres") else "redis" if "redis" in comm
                else "bench+stubs" if pid == me else "other")
        roles[role] = roles.get(role, 0.0) + seconds
    return roles


def machine_speed(rounds: int = 5) -> float:
    """Milliseconds a fixed piece of pure-Python work takes here (the best of `rounds`).

    This VM's speed drifts by a third or more within minutes (its neighbours' load), which
    moves every CPU-per-message and latency figure with it; printed before and after a run,
    it tells a slow machine from a slow change."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += len(str(i)) * (i & 7)
        best = min(best, time.perf_counter() - start)
    return best * 1000
