"""Check a pooled database connection before use only when it has sat idle a while.

SQLAlchemy's `pool_pre_ping` pings on every checkout. A reply checks a connection out once per
transaction (five or six times, since it gives the connection back before every wait on the
model or the Graph API), so the pings were a quarter of all its round trips to PostgreSQL.
A connection that went back to the pool moments ago is as alive as the ping would say:
PostgreSQL restarts, failovers and idle-connection killers take effect on connections that
have sat unused, and those are still pinged. A connection that dies in the gap anyway fails
its statement, SQLAlchemy recognises the disconnect and discards the pool, and the job's
retry (or the webhook's non-2xx, so that Meta redelivers) runs it again.

This follows SQLAlchemy's own recipe for custom pessimistic disconnect handling: a `checkout`
listener that raises `DisconnectionError` makes the pool retry with a fresh connection.
"""
from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_IDLE_SINCE = "closer_idle_since"


def ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping connections idle for at least `idle_seconds` (0: on every checkout) when checked out."""

    @event.listens_for(engine.pool, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is not None and time.monotonic() - since < idle_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as err:
            if not engine.dialect.is_disconnect(err, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            # the pool closes this one and checks out another (a new one if need be)
            raise exc.DisconnectionError("pooled connection was closed by the server")
