"""Whether a workflow rule (or one of its steps) can work as written: clear errors, one per
problem, before anything is saved (the admin form and the API say the same)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import RuleAction, RuleTrigger, TenantMembership
from app.services.rule_match import keywords, parse_hours

MAX_HOURS = 24 * 30
EVENT_TRIGGERS = {RuleTrigger.ORDER_PAID, RuleTrigger.ORDER_SHIPPED, RuleTrigger.NO_REPLY}
# Actions that need a customer's message to act on.
MESSAGE_ONLY = {RuleAction.AI_REPLY, RuleAction.CREATE_ORDER}


class RuleInvalid(ValueError):
    """What is wrong with a rule, field by field."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


def _hours(value) -> float | None:
    try:
        hours = float(value)
    except (TypeError, ValueError):
        return None
    return hours if 0 < hours <= MAX_HOURS else None


def action_problems(spec, tenant_id: int, trigger=None) -> dict[str, str]:
    """Problems of one action's parameters (a rule's own action or a step's)."""
    problems: dict[str, str] = {}
    action = RuleAction(spec.action) if spec.action else None
    has_text = bool((spec.response or "").strip()) or spec.template_id is not None or spec.template is not None
    if action == RuleAction.REPLY and not has_text:
        problems["response"] = "A reply needs a text or a template"
    if action == RuleAction.FOLLOW_UP:
        if _hours(spec.delay_hours) is None:
            problems["delay_hours"] = f"A follow-up needs a delay between 0 and {MAX_HOURS} hours"
        if not has_text:
            problems["response"] = "A follow-up needs a text or a template (WhatsApp needs an approved template outside 24 hours)"
    if action == RuleAction.ASSIGN:
        assignee = spec.assignee_id if spec.assignee_id is not None else getattr(spec.assignee, "id", None)
        member = db.session.scalar(select(TenantMembership.id).where(
            TenantMembership.tenant_id == tenant_id, TenantMembership.user_id == assignee)) if assignee else None
        if member is None:
            problems["assignee"] = "Assign needs a teammate of this business"
    if trigger in EVENT_TRIGGERS and action in MESSAGE_ONLY:
        problems["action"] = f"{action} needs a customer's message; {trigger} rules have none"
    return problems


def validate(rule) -> None:
    """Raise RuleInvalid naming every problem of the rule."""
    problems: dict[str, str] = {}
    trigger = RuleTrigger(rule.trigger) if rule.trigger else None
    if not (rule.name or "").strip():
        problems["name"] = "A rule needs a name"
    if trigger == RuleTrigger.KEYWORD and not keywords(rule.match):
        problems["match"] = "A keyword rule needs words or phrases, separated by commas"
    if trigger == RuleTrigger.NO_REPLY and _hours(rule.match) is None:
        problems["match"] = f"A no_reply rule needs the hours of quiet (a number, at most {MAX_HOURS})"
    if trigger == RuleTrigger.OUTSIDE_HOURS and parse_hours(rule.match) is None:
        problems["match"] = 'Opening hours look like "09:00-21:00"'
    if rule.hours and parse_hours(rule.hours) is None:
        problems["hours"] = 'Time of day looks like "09:00-18:00"'
    problems.update(action_problems(rule, rule.tenant_id, trigger))
    if problems:
        raise RuleInvalid(problems)


def validate_step(step) -> None:
    trigger = RuleTrigger(step.rule.trigger) if step.rule is not None else None
    problems = action_problems(step, step.tenant_id, trigger)
    if problems:
        raise RuleInvalid(problems)
