"""Message templates: their numbered placeholders and the WhatsApp template message they make.

WhatsApp templates are approved by Meta with the body text fixed and numbered variables
(`{{1}}`, `{{2}}` ...); a send names the template and language and gives one text parameter per
variable, in order. Meta refuses an empty parameter, so a missing value is never sent as "".
"""
from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


def placeholder_count(body: str | None) -> int:
    """How many variables the body uses ({{1}}..{{n}}; the highest number counts)."""
    return max((int(n) for n in PLACEHOLDER.findall(body or "")), default=0)


def render(body: str | None, values: list[str]) -> str:
    """The body with {{n}} replaced by values[n-1] (as the customer will read it)."""
    def one(match: re.Match) -> str:
        i = int(match.group(1)) - 1
        return values[i] if 0 <= i < len(values) else match.group(0)

    return PLACEHOLDER.sub(one, body or "")


def whatsapp_template(name: str, language: str, values: list[str]) -> dict:
    """The `template` object of a WhatsApp Cloud API message."""
    template: dict = {"name": name, "language": {"code": language or "en"}}
    if values:
        template["components"] = [{"type": "body", "parameters": [
            {"type": "text", "text": (v or "-")[:1024]} for v in values]}]
    return template
