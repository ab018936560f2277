"""A pause's end survives a lost queue: when a person paused the AI and never answered, the
job at the pause's end answers what waited; if the queue lost that job (the embedded in-memory
one restarted, Redis was flushed) the sweep finds the ended pause in the database and queues
it again, once, under the same job id; a person's answer, a takeover, a closed chat or a pause
ended too long ago queue nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Conversation, Message
from tests.test_inbox_takeover import conv_of, outbound_rows, say

HOUR = 3600


def restart(app):
    """The embedded default keeps its queue in an in-memory Redis: a restart empties it."""
    app.extensions["redis"].flushdb()


def sweep_pause_ends(app) -> int:
    from app.services.sweep import sweep

    with app.app_context():
        queued = sweep().pause_ends
        db.session.remove()
        return queued


def time_passes(app, conv_id, seconds):
    """As if everything in the conversation happened `seconds` earlier: its messages, the
    pause and who stepped in when (the pause then ended `seconds` minus its length ago)."""
    delta = timedelta(seconds=seconds)
    with app.app_context():
        rows = [(db.session.get(Conversation, conv_id), ("paused_until", "taken_over_at", "last_staff_at",
                                                          "last_inbound_at", "last_message_at"))]
        rows += [(m, ("created_at", "handled_at", "sent_at")) for m in db.session.scalars(
            select(Message).where(Message.conversation_id == conv_id))]
        for row, fields in rows:  # in Python: SQLite has no arithmetic on its stored times
            for field in fields:
                if getattr(row, field) is not None:
                    setattr(row, field, getattr(row, field) - delta)
        db.session.commit()
        db.session.remove()


def paused_with_a_question(app, browser, post_meta, run_jobs, graph, psid):
    """The AI greeted; a person wrote (a 30-minute pause); the customer asked; nobody answered.
    Returns the conversation and the staff browser."""
    say(post_meta, psid, f"{psid}-1", "hello")
    run_jobs()
    conv = conv_of(app, psid)
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/reply", data={"text": "Priya here"}, token_from=f"/inbox/c/{conv.id}")
    say(post_meta, psid, f"{psid}-2", "how much is Prod-A?")
    run_jobs()
    assert len(graph.sends()) == 2  # the question waits for Priya
    return conv, staff


def test_a_pause_end_lost_in_a_restart_is_made_up_once(world, app, browser, graph, post_meta, run_jobs):
    conv, _ = paused_with_a_question(app, browser, post_meta, run_jobs, graph, "psid-g1")
    restart(app)  # the job at the pause's end is gone with the queue
    time_passes(app, conv.id, 31 * 60)  # the pause ended a minute ago; Priya never came
    assert sweep_pause_ends(app) == 1
    assert sweep_pause_ends(app) == 0  # its job waits in the queue: not queued twice
    run_jobs()
    assert len(graph.sends()) == 3 and "799" in graph.sends()[-1]["message"]["text"]
    assert outbound_rows(app, conv.id)[-1][0] == "ai"
    assert sweep_pause_ends(app) == 0  # answered: nothing left to make up
    run_jobs(ahead=HOUR)
    assert len(graph.sends()) == 3


def test_the_scheduled_job_and_the_sweep_answer_once_between_them(world, app, browser, graph, post_meta,
                                                                 run_jobs):
    from app.jobs.queueing import queue_pause_end

    conv, _ = paused_with_a_question(app, browser, post_meta, run_jobs, graph, "psid-g2")
    restart(app)
    time_passes(app, conv.id, 31 * 60)
    with app.app_context():  # the job the reply job scheduled for the pause's (moved) end
        queue_pause_end(conv.id, conv.tenant_id, at=conv_of(app, "psid-g2").paused_until)
        db.session.remove()
    assert sweep_pause_ends(app) == 0  # the scheduled job still waits in the queue: left alone
    run_jobs(ahead=60)  # ... and runs
    assert len(graph.sends()) == 3
    restart(app)  # its record gone too: the sweep must see from the database that it ran
    assert sweep_pause_ends(app) == 0
    run_jobs(ahead=HOUR)
    assert len(graph.sends()) == 3


def test_a_made_up_job_turning_up_twice_sends_once(world, app, browser, graph, post_meta, run_jobs):
    """The sweep's job and a scheduled one restored with Redis's snapshot both run."""
    from app.jobs.queueing import queue_pause_end

    conv, _ = paused_with_a_question(app, browser, post_meta, run_jobs, graph, "psid-g3")
    restart(app)
    time_passes(app, conv.id, 31 * 60)
    assert sweep_pause_ends(app) == 1
    run_jobs()
    restart(app)  # a Redis restored from a snapshot taken before: the scheduled job is back
    with app.app_context():
        queue_pause_end(conv.id, conv.tenant_id, at=conv_of(app, "psid-g3").paused_until)
        db.session.remove()
    run_jobs(ahead=HOUR)
    assert len(graph.sends()) == 3


@pytest.mark.parametrize("case", ["a person answered", "taken over", "closed", "resumed and answered",
                                  "ended too long ago", "still paused"])
def test_nothing_is_made_up_when_nothing_waits_for_the_ai(world, app, browser, graph, post_meta, run_jobs,
                                                          case):
    conv, staff = paused_with_a_question(app, browser, post_meta, run_jobs, graph, "psid-g4")
    page = f"/inbox/c/{conv.id}"
    sent, ago = 2, 31 * 60
    if case == "a person answered":
        staff.post(f"{page}/reply", data={"text": "Rs 799"}, token_from=page)
        run_jobs()
        sent = 3
    elif case == "taken over":
        staff.post(f"{page}/takeover", token_from=page)
    elif case == "closed":
        staff.post(f"{page}/status", data={"action": "close"}, token_from=page)
    elif case == "resumed and answered":  # resume hands the question to the AI at once
        staff.post(f"{page}/resume", token_from=page)
        run_jobs()
        sent = 3
    elif case == "ended too long ago":
        ago = 30 * 60 + 25 * HOUR
    else:
        ago = 10 * 60
    restart(app)
    time_passes(app, conv.id, ago)
    assert sweep_pause_ends(app) == 0
    run_jobs(ahead=HOUR if case != "still paused" else 0)
    assert len(graph.sends()) == sent


def test_a_question_answered_by_the_ai_before_the_pause_is_not_asked_again(world, app, browser, graph,
                                                                          post_meta, run_jobs):
    """A pause set from the inbox (no message) over a chat whose last question the AI answered:
    only what was set aside during the pause counts."""
    say(post_meta, "psid-g5", "psid-g5-1", "how much is Prod-A?")
    run_jobs()
    conv = conv_of(app, "psid-g5")
    staff = browser("staff_a")
    staff.post(f"/inbox/c/{conv.id}/pause", data={"minutes": "30"}, token_from=f"/inbox/c/{conv.id}")
    restart(app)
    time_passes(app, conv.id, 31 * 60)
    assert sweep_pause_ends(app) == 0
    run_jobs(ahead=HOUR)
    assert len(graph.sends()) == 1
