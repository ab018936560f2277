"""Whether the process behind a lock, a running job or a scheduler lock is still alive.

Every process names itself `closer-<machine>-<pid>-<start>`: the machine is a digest of the
kernel's boot id and the process's PID namespace (so two containers on one host never count as
one machine), and `<start>` is the process's start time in clock ticks, so a reused PID is
never taken for its predecessor. On the same machine a dead holder is then known at once, from
/proc, whatever its heartbeat. On another machine it is known when its heartbeat's liveness key
(`ALIVE_KEY`, renewed every second by app.jobs.recovery) has lapsed, and only for a process
that ran a heartbeat (`BEATING_KEY`); anything else is left to the TTL of what it holds.
"""
from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

PREFIX = "closer-"
ALIVE_KEY = "closer:alive:{}"
BEATING_KEY = "closer:beating:{}"  # this process runs a heartbeat (kept a day past its last)


@lru_cache(maxsize=1)
def machine() -> str:
    """This kernel and PID namespace, as 10 hex digits ('0' where /proc can't tell)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return "0"
    return hashlib.sha1(f"{boot}:{namespace}".encode()).hexdigest()[:10]


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), None if there is no such process
    or it has died and awaits its parent (a zombie)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] in ("Z", "X") else fields[19]


@lru_cache(maxsize=4)
def _name_of(pid: int) -> str:
    return f"{PREFIX}{machine()}-{pid}-{start_time(pid) or '0'}"


def process_name() -> str:
    """This process's name (recomputed after a fork)."""
    return _name_of(os.getpid())


def is_dead(connection, name: str) -> bool:
    """True only when the named process is known to be gone; False when alive or unknown."""
    parts = name.split("-") if name.startswith(PREFIX) else []
    if len(parts) != 4 or not parts[2].isdigit():
        return False
    _, where, pid, started = parts
    if where == machine() and where != "0":
        return start_time(int(pid)) != started
    return bool(connection.exists(BEATING_KEY.format(name))) and not connection.exists(ALIVE_KEY.format(name))


def holder_process(value) -> str:
    """The process part of a holder's name or token (`<process>.<suffix>`)."""
    value = value.decode() if isinstance(value, bytes) else (value or "")
    return value.partition(".")[0]
