"""Opt-out and opt-in by message, on every channel: "STOP" and its equivalents, "START".

Customers say it many ways ("STOP!!", "pls unsubscribe", "band karo", "मत भेजो"), so a
message is normalized (case, punctuation, emoji, spacing, polite filler words) and then
compared with whole commands; a few unambiguous phrases count anywhere in the message
("stop messaging me", "unsubscribe me"). A bare word that merely contains "stop"
("non-stop delivery?") is not a command.

Opting out silences every automated sender, not only the rules: the send path refuses
automated messages to an opted-out customer (app.services.outbound), follow-ups are dropped
when they come due, and the agent doesn't answer. The confirmation is sent once: a second
STOP from someone already opted out gets nothing.
"""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import update

from app.ai.reply import Reply
from app.extensions import db
from app.models import Customer, FollowUp, FollowUpStatus, RuleAction, utcnow

STOP, START = "stop", "start"
OPT_OUT_TEXT = ("You won't get automated messages from us any more. Reply START to hear from us "
                "again, or message us any time to talk to a person.")
OPT_IN_TEXT = "Welcome back! You'll hear from us again. How can we help?"
NOTICE = "opt_out_notice"  # payload flag of the confirmations, which reach an opted-out customer

FILLER = {"please", "pls", "plz", "plzz", "plis", "now", "ji", "bhai", "sir", "madam", "mam",
          "thanks", "thank", "you", "thx", "ty", "kindly", "just", "ok", "okay", "all", "it",
          "me", "messages", "message", "msgs", "msg", "sms", "texts", "from", "us", "your",
          "yaar", "na", "sab", "ye", "yeh", "kripya", "कृपया", "जी", "अब", "मैसेज", "संदेश", "सब"}
STOP_COMMANDS = {
    "stop", "stopall", "unsubscribe", "unsub", "quit", "opt out", "optout", "opt-out",
    "stop sending", "stop messaging", "dont message", "do not message", "dont send",
    # the marketing-opt-out quick reply WhatsApp adds to marketing templates (broadcasts)
    "stop promotions", "stop promotion",
    "band karo", "band kar do", "bandh karo", "band kardo", "band kro", "mat bhejo", "mat bhejna",
    "bhejna band karo", "bhejna band kar do",
    "बंद करो", "बंद कर दो", "बन्द करो", "मत भेजो", "मत भेजना", "भेजना बंद करो",
}
START_COMMANDS = {
    "start", "unstop", "subscribe", "resume", "opt in", "optin", "opt-in", "start again",
    "shuru", "shuru karo", "chalu karo", "phir se bhejo", "शुरू", "शुरू करो", "चालू करो",
}
# Unambiguous anywhere in a message.
STOP_ANYWHERE = re.compile(
    r"\b(unsubscribe|opt[\s-]?out|stop (sending|messaging|texting|contacting)( me)?|"
    r"(don'?t|do not|dont) (message|text|contact|send) me|"
    r"(message|messages|msg|msgs) (mat bhejo|band karo|band kar do|mat karo))\b"
    r"|(मैसेज|संदेश) (मत भेजो|बंद करो)", re.IGNORECASE)


def normalize(text: str | None) -> str:
    """Lowercase words only: punctuation, symbols and emoji become spaces, filler goes."""
    cleaned = []
    for ch in unicodedata.normalize("NFC", text or "").casefold():
        category = unicodedata.category(ch)
        cleaned.append(ch if category[0] in "LN" or category in ("Mn", "Mc") or ch in "'-" else " ")
    words = [w.strip("'-") for w in "".join(cleaned).replace("'", "").split()]
    return " ".join(w for w in words if w and w not in FILLER)


def command(text: str | None) -> str | None:
    """STOP, START or None for one message."""
    if not text or len(text) > 300:
        return None
    said = normalize(text)
    if said in STOP_COMMANDS or said.replace(" ", "") in STOP_COMMANDS:
        return STOP
    if said in START_COMMANDS or said.replace(" ", "") in START_COMMANDS:
        return START
    if STOP_ANYWHERE.search(text) or STOP_ANYWHERE.search(said):
        return STOP
    return None


def command_in(messages) -> str | None:
    """The last STOP/START among a burst of inbound messages (text or button payload)."""
    found = None
    for m in messages:
        for said in (m.text, (m.payload or {}).get("payload") if isinstance(m.payload, dict) else None):
            found = command(said) or found
    return found


def _rule_text(content, action: RuleAction) -> str | None:
    """The tenant's own wording: the first active opt-out rule's response or template."""
    for rule in content.rules if content is not None else ():
        if rule.action == action:
            return rule.response or (rule.template.body if rule.template else None)
    return None


def opt_out(customer: Customer) -> bool:
    """Mark the customer opted out and drop their scheduled follow-ups; False if they were."""
    if customer.opted_out:
        return False
    customer.opted_out = True
    db.session.execute(
        update(FollowUp).where(FollowUp.tenant_id == customer.tenant_id,
                               FollowUp.status == FollowUpStatus.SCHEDULED,
                               FollowUp.conversation_id.in_([c.id for c in customer.conversations]))
        .values(status=FollowUpStatus.DROPPED, reason="The customer opted out", done_at=utcnow())
        .execution_options(synchronize_session=False))
    return True


def respond(conv, said: str, content) -> Reply | None:
    """Apply a STOP/START command to the conversation's customer; the confirmation to send
    (None when nothing changed: they were already in that state)."""
    customer = conv.customer
    if said == STOP:
        if not opt_out(customer):
            return None
        text = _rule_text(content, RuleAction.OPT_OUT) or OPT_OUT_TEXT
        return Reply(text, agent="rule:opt-out", meta={NOTICE: True})
    if not customer.opted_out:
        return None
    customer.opted_out = False
    return Reply(OPT_IN_TEXT, agent="rule:opt-in", meta={NOTICE: True})


def exempt(message) -> bool:
    """Automated messages an opted-out customer still gets: the opt-out/opt-in confirmation,
    and news of an order they placed (payment received, shipped)."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    return bool(payload.get(NOTICE) or payload.get("order_id"))
