"""Pooled connections are pinged only after sitting idle, and a dead one is replaced unseen."""
import pytest
from sqlalchemy import create_engine, text

from app.db_pool import ping_when_idle
from tests.conftest import DATABASE_URL, IS_POSTGRES

pytestmark = pytest.mark.skipif(not IS_POSTGRES, reason="PostgreSQL connections (SQLite has no server to lose)")


def _engine(idle_seconds: float):
    """A one-connection engine whose pings are counted in `engine.pings`."""
    engine = create_engine(DATABASE_URL, pool_size=1, max_overflow=0)
    ping_when_idle(engine, idle_seconds)
    engine.pings = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda dbapi_connection: engine.pings.append(1) or ping(dbapi_connection)
    return engine


def _backend(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("select pg_backend_pid()"))


def _kill(pid: int) -> None:
    killer = create_engine(DATABASE_URL, poolclass=None)
    with killer.connect() as conn:
        assert conn.scalar(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    killer.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_use():
    engine = _engine(idle_seconds=0)
    first = _backend(engine)
    _kill(first)
    # without the ping this statement would fail on the dead connection
    second = _backend(engine)
    assert second != first
    engine.dispose()


def test_a_recently_used_connection_is_not_pinged_and_an_idle_one_is():
    engine = _engine(idle_seconds=0.5)
    first = _backend(engine)  # a new connection is checked once: it has no idle time yet
    assert engine.pings == [1]
    assert _backend(engine) == _backend(engine) == first
    assert engine.pings == [1]  # back in the pool moments ago: no round trip spent on it
    import time

    time.sleep(0.6)
    assert _backend(engine) == first
    assert engine.pings == [1, 1]
    engine.dispose()


def test_a_connection_killed_inside_the_idle_window_fails_once_then_the_pool_recovers():
    engine = _engine(idle_seconds=60)
    first = _backend(engine)
    _kill(first)
    from sqlalchemy.exc import OperationalError

    with pytest.raises(OperationalError):
        _backend(engine)
    assert _backend(engine) != first  # the disconnect was recognised and the pool refilled
    engine.dispose()
