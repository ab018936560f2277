"""Timestamps read by magnitude and type on all three platforms: milliseconds, seconds, strings
of seconds, garbage. A message is never dated decades away, never left unanswered for its unit,
and the 24-hour window runs from the time it really arrived."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.channels.fields import event_time, to_datetime
from app.extensions import db
from app.models import Conversation, Message
from tests import meta_payloads as mp

PAGE = "page-A"
UTC = timezone.utc
MOMENT = datetime(2025, 11, 22, 8, 26, 40, tzinfo=UTC)  # 1763800000 s
ARRIVAL = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("value", [
    1763800000,              # Messenger lead-ad referral: integer seconds
    1763800000000,           # Messenger / Instagram: integer milliseconds
    "1763800000",            # WhatsApp and App Dashboard samples: a string of seconds
    "1763800000000",         # a string of milliseconds
    1763800000.0,            # a float of seconds
    " 1763800000 ",          # padded
    1763800000000000,        # microseconds
    1763800000000000000,     # nanoseconds
    "2025-11-22T08:26:40Z",  # ISO 8601
    "2025-11-22T13:56:40+05:30",
])
def test_every_unit_and_type_reads_as_the_same_moment(value):
    assert to_datetime(value) == MOMENT


@pytest.mark.parametrize("value", [
    None, "", "soon", "17638OOOOO", {}, [], {"s": 1763800000}, [1763800000], True, False,
    0, -1763800000, float("nan"), float("inf"), 1e40, "9" * 60, "1e400", 5, "0042",
    4102444800,  # 2100: a clock decades ahead
    "1999-01-01T00:00:00Z",
])
def test_unreadable_or_implausible_timestamps_read_as_nothing(value):
    assert to_datetime(value) is None


def test_event_time_falls_back_to_the_entry_then_to_arrival_and_never_passes_arrival():
    entry = ARRIVAL - timedelta(seconds=5)
    assert event_time("garbage", ARRIVAL, entry) == entry
    assert event_time(None, ARRIVAL) == ARRIVAL
    assert event_time(int((ARRIVAL - timedelta(hours=2)).timestamp()), ARRIVAL) == ARRIVAL - timedelta(hours=2)
    # A clock running ahead of ours must not stretch the 24-hour window.
    ahead = int((ARRIVAL + timedelta(hours=3)).timestamp() * 1000)
    assert event_time(ahead, ARRIVAL) == ARRIVAL


def _stored(app, mid):
    with app.app_context():
        msg = db.session.scalar(select(Message).where(Message.external_id == mid))
        conv = db.session.get(Conversation, msg.conversation_id)
        out = (_aware(msg.created_at), _aware(conv.last_inbound_at), msg.handled_at is not None)
        db.session.remove()
        return out


def _aware(value):
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _messenger(mid, timestamp, *, obj="page", account=PAGE, entry_time=None):
    item = {"sender": {"id": f"psid-{mid}"}, "recipient": {"id": account}, "timestamp": timestamp,
            "message": {"mid": mid, "text": "Is the kurta in stock?"}}
    entry = {"id": account, "messaging": [item]}
    if entry_time is not None:
        entry["time"] = entry_time
    return {"object": obj, "entry": [entry]}


TWO_HOURS_AGO = time.time() - 2 * 3600

CASES = {
    "messenger ms": ("page", PAGE, int(TWO_HOURS_AGO * 1000)),
    "messenger seconds (lead ads)": ("page", PAGE, int(TWO_HOURS_AGO)),
    "messenger string of seconds (dashboard test)": ("page", PAGE, str(int(TWO_HOURS_AGO))),
    "instagram ms": ("instagram", "ig-A", int(TWO_HOURS_AGO * 1000)),
    "instagram seconds": ("instagram", "ig-A", int(TWO_HOURS_AGO)),
    "instagram string": ("instagram", "ig-A", str(int(TWO_HOURS_AGO))),
}


@pytest.mark.parametrize("case", list(CASES))
def test_messenger_and_instagram_units_date_the_message_and_get_it_answered(app, world, post_meta, graph,
                                                                            run_jobs, case):
    from tests.test_webhook_meta import add_channel

    obj, account, timestamp = CASES[case]
    if obj == "instagram":
        add_channel(app, world.a.tenant_id, "instagram", account, "IG A")
    assert post_meta(_messenger("m_ts", timestamp, obj=obj, account=account)).stored == 1
    run_jobs()
    created, window_from, answered = _stored(app, "m_ts")
    expected = datetime.fromtimestamp(int(TWO_HOURS_AGO), tz=UTC)
    assert abs((created - expected).total_seconds()) < 1.5
    assert window_from == created  # the 24-hour window runs from when the customer wrote
    assert answered and [s["recipient"]["id"] for s in graph.sends()] == ["psid-m_ts"]


@pytest.mark.parametrize("timestamp", [str(int(TWO_HOURS_AGO)), int(TWO_HOURS_AGO), int(TWO_HOURS_AGO * 1000)])
def test_whatsapp_units_date_the_message_and_get_it_answered(app, world, post_meta, graph, run_jobs, timestamp):
    from tests.test_webhook_meta import add_channel

    add_channel(app, world.a.tenant_id, "whatsapp", "wa-phone-A", "WA A")
    message = {**mp.wa_text("919800000009", "wamid.ts", "Is the kurta in stock?"), "timestamp": timestamp}
    status = {**mp.wa_status("wamid.unknown", "delivered", "919800000009"), "timestamp": timestamp}
    assert post_meta(mp.whatsapp("wa-phone-A", messages=[message], statuses=[status])).stored == 1
    run_jobs()
    created, window_from, answered = _stored(app, "wamid.ts")
    assert abs((created - datetime.fromtimestamp(int(TWO_HOURS_AGO), tz=UTC)).total_seconds()) < 1.5
    assert window_from == created and answered
    assert [s["to"] for s in graph.sends()] == ["919800000009"]


@pytest.mark.parametrize("garbage", ["soon", None, {"t": 1}, -5, 4102444800000])
def test_an_unreadable_timestamp_falls_back_to_the_entry_time_or_arrival(app, world, post_meta, graph,
                                                                         run_jobs, garbage):
    before = datetime.now(UTC)
    assert post_meta(_messenger("m_garbage", garbage)).stored == 1
    run_jobs()
    created, _, answered = _stored(app, "m_garbage")
    assert before - timedelta(seconds=2) <= created <= datetime.now(UTC) + timedelta(seconds=1)
    assert answered and len(graph.sends()) == 1

    entry_time = int((time.time() - 60) * 1000)
    assert post_meta(_messenger("m_entry", garbage, entry_time=entry_time)).stored == 1
    created, _, _ = _stored(app, "m_entry")
    assert abs(created.timestamp() - entry_time / 1000) < 1.5


def test_a_message_really_outside_the_window_is_not_answered_by_the_agent(app, world, post_meta, graph, run_jobs):
    """The window is real: a message from 25 hours ago (in seconds) gets no automated reply."""
    old = int(time.time() - 25 * 3600)
    assert post_meta(_messenger("m_old", old)).stored == 1
    run_jobs()
    created, _, _ = _stored(app, "m_old")
    assert abs(created.timestamp() - old) < 1.5
    assert graph.sends() == []
