"""Jobs of the workflow rules: follow-ups when they come due, rules fired by events."""
from __future__ import annotations

from app.jobs.context import job
from app.services import followups, workflow_events


@job
def send_follow_up(follow_up_id: int, tenant_id: int) -> str:
    return followups.run(follow_up_id, tenant_id)


@job
def run_rule_event(conversation_id: int, trigger: str, event: str, order_id: int | None = None,
                   rule_id: int | None = None, *, tenant_id: int) -> str:
    return workflow_events.run_event(conversation_id, tenant_id, trigger, event, order_id=order_id,
                                     rule_id=rule_id)
