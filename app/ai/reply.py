"""What an agent hands back: the text to send and a record of how it was made."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Reply:
    text: str
    quick_replies: list[str] = field(default_factory=list)
    agent: str = "offline"
    meta: dict = field(default_factory=dict)  # model, tokens, tools, guardrail events...
