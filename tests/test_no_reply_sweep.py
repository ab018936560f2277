"""no_reply checks survive a lost queue: the sweep derives due quiet spells from the database
and queues the check the restart lost, once per spell, however often the sweep and the
scheduled job run; a customer who wrote since, a rule made after the spell began, a spell
too long ago, a rule that doesn't apply and another tenant's rule queue nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Conversation, Customer, RuleAction, RuleRun, RuleTrigger, utcnow
from tests import meta_payloads as mp
from tests.test_workflows import PAGE, add_rule, say, texts

NUDGE = "Still thinking about it? I'm here to help."
HOUR = 3600


def quiet_since(post_meta, run_jobs, psid, mid, text, hours_ago):
    """The customer wrote `hours_ago` (Meta's timestamp) and has been quiet since; the agent
    answered, and the reply job scheduled the rule's check in the queue."""
    post_meta(mp.messenger(PAGE, mp.text(psid, PAGE, mid, text, offset_s=-hours_ago * HOUR)))
    run_jobs()


def restart(app):
    """The embedded default keeps its queue in an in-memory Redis: a restart empties it."""
    app.extensions["redis"].flushdb()


def sweep_no_reply(app) -> int:
    from app.services.sweep import sweep

    with app.app_context():
        queued = sweep().no_reply
        db.session.remove()
        return queued


def nudges(graph):
    return [t for t in texts(graph) if t == NUDGE]


def quiet_runs(app, psid):
    with app.app_context():
        conv_id = db.session.scalar(select(Conversation.id).join(Customer).where(Customer.external_id == psid))
        n = db.session.scalar(select(func.count()).select_from(RuleRun).where(
            RuleRun.conversation_id == conv_id, RuleRun.trigger == "no_reply"))
        db.session.remove()
        return conv_id, n


@pytest.fixture
def nudge_rule(app, world):
    return add_rule(app, world.a.tenant_id, "Nudge", RuleTrigger.NO_REPLY, RuleAction.REPLY, match="2",
                    response=NUDGE, created_at=utcnow() - timedelta(days=1))


def test_a_check_lost_in_a_restart_is_made_up_once(app, world, post_meta, run_jobs, graph, nudge_rule):
    quiet_since(post_meta, run_jobs, "psid-r", "m_r1", "let me think about it", hours_ago=3)
    restart(app)
    assert sweep_no_reply(app) == 1
    assert sweep_no_reply(app) == 0  # its job waits in the queue: not queued twice
    run_jobs()
    assert nudges(graph) == [NUDGE]
    assert sweep_no_reply(app) == 0  # the spell's run is recorded: nothing to make up
    # the scheduled job turning up after all (a Redis restored from its snapshot) does nothing
    from app.jobs.queueing import queue_rule_event
    from app.services.workflow_events import quiet_event

    conv_id, runs = quiet_runs(app, "psid-r")
    with app.app_context():
        last = db.session.get(Conversation, conv_id).last_inbound_at
        queue_rule_event(conv_id, world.a.tenant_id, "no_reply", quiet_event(last), rule_id=nudge_rule)
        db.session.remove()
    run_jobs()
    assert nudges(graph) == [NUDGE] and runs == quiet_runs(app, "psid-r")[1] == 1


def test_the_sweep_leaves_a_scheduled_check_alone_and_the_spell_runs_once(
        app, world, post_meta, run_jobs, graph, nudge_rule):
    quiet_since(post_meta, run_jobs, "psid-s", "m_s1", "hmm", hours_ago=3)
    assert sweep_no_reply(app) == 0  # the reply job's check still waits in the queue
    run_jobs(ahead=2 * HOUR + 5)  # ... and runs when due
    assert nudges(graph) == [NUDGE]
    restart(app)
    assert sweep_no_reply(app) == 0  # ran: not made up
    run_jobs()
    assert nudges(graph) == [NUDGE] and quiet_runs(app, "psid-s")[1] == 1


def test_a_customer_who_wrote_in_between_gets_nothing(app, world, post_meta, run_jobs, graph, nudge_rule):
    quiet_since(post_meta, run_jobs, "psid-w", "m_w1", "let me think", hours_ago=3)
    restart(app)
    say(post_meta, run_jobs, "psid-w", "m_w2", "do you have it in blue?")  # a new spell begins now
    assert sweep_no_reply(app) == 0
    run_jobs(ahead=HOUR)  # nothing due within the hour either
    assert nudges(graph) == [] and quiet_runs(app, "psid-w")[1] == 0


@pytest.mark.parametrize("case", ["rule made after the spell began", "inactive rule", "other platform",
                                  "spell too long ago", "other tenant's rule"])
def test_spells_the_rule_would_not_have_checked_are_not_made_up(app, world, post_meta, run_jobs, graph, case):
    fields = dict(match="2", response=NUDGE, created_at=utcnow() - timedelta(days=3))
    tenant, hours_ago = world.a.tenant_id, 3
    if case == "rule made after the spell began":
        fields["created_at"] = utcnow() - timedelta(hours=1)
    elif case == "inactive rule":
        fields["active"] = False
    elif case == "other platform":
        fields["platform"] = "whatsapp"
    elif case == "spell too long ago":
        hours_ago = 30
    else:
        tenant = world.b.tenant_id
    add_rule(app, tenant, "Nudge", RuleTrigger.NO_REPLY, RuleAction.REPLY, **fields)
    quiet_since(post_meta, run_jobs, "psid-n", "m_n1", "hmm", hours_ago=hours_ago)
    restart(app)
    assert sweep_no_reply(app) == 0
    run_jobs()
    assert nudges(graph) == []


def test_a_rule_s_conditions_are_checked_before_queueing(app, world, post_meta, run_jobs, graph):
    """A customer tag the rule asks for: none yet, nothing queued; tagged, the spell is made up."""
    add_rule(app, world.a.tenant_id, "Nudge VIPs", RuleTrigger.NO_REPLY, RuleAction.REPLY, match="2",
             response=NUDGE, customer_tag="vip", created_at=utcnow() - timedelta(days=1))
    quiet_since(post_meta, run_jobs, "psid-v", "m_v1", "hmm", hours_ago=3)
    restart(app)
    assert sweep_no_reply(app) == 0
    with app.app_context():
        db.session.scalar(select(Customer).where(Customer.external_id == "psid-v")).tags = "VIP"
        db.session.commit()
        db.session.remove()
    assert sweep_no_reply(app) == 1
    run_jobs()
    assert nudges(graph) == [NUDGE]
