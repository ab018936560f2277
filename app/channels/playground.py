"""The in-app Playground: staff chat as a customer; "sending" stores the reply as delivered."""
from __future__ import annotations

import uuid

from app.channels.base import Parsed, SendResult


class PlaygroundAdapter:
    platform = "playground"

    def parse(self, body, arrival) -> Parsed:
        return Parsed()  # events are built by app.services.playground, not parsed from a webhook

    def send(self, channel, recipient_id: str, message, *, tag: str | None = None) -> SendResult:
        return SendResult(external_id=f"pg-{uuid.uuid4().hex}")

    def profile_name(self, channel, customer_id: str) -> str | None:
        return None
