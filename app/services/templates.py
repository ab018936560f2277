"""Message templates: their placeholders and the WhatsApp template message they make.

WhatsApp templates are approved by Meta with the body text fixed and variables that are either
numbered (`{{1}}`, `{{2}}` ...) or named (`{{first_name}}`); a send names the template and
language and gives one text parameter per variable, in order (named ones also carry their
`parameter_name`). Meta refuses an empty parameter, so a missing value is never sent as "".
"""
from __future__ import annotations

import re

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


def placeholders(body: str | None) -> list[str]:
    """The body's variables in the order a send must give them: numbered ones by number
    ({{1}}..{{n}}, the highest number counts), else named ones as they first appear."""
    found = PLACEHOLDER.findall(body or "")
    numbers = [int(n) for n in found if n.isdigit()]
    if numbers:
        return [str(n) for n in range(1, max(numbers) + 1)]
    return list(dict.fromkeys(found))


def placeholder_count(body: str | None) -> int:
    return len(placeholders(body))


def render(body: str | None, values: list[str]) -> str:
    """The body with each variable replaced by its value (as the customer will read it)."""
    index = {name: i for i, name in enumerate(placeholders(body))}

    def one(match: re.Match) -> str:
        i = index.get(match.group(1))
        return values[i] if i is not None and i < len(values) else match.group(0)

    return PLACEHOLDER.sub(one, body or "")


def whatsapp_template(name: str, language: str, values: list[str], body: str | None = None) -> dict:
    """The `template` object of a WhatsApp Cloud API message."""
    template: dict = {"name": name, "language": {"code": language or "en"}}
    if values:
        names = placeholders(body)
        named = bool(names) and not names[0].isdigit()
        params = []
        for i, v in enumerate(values):
            param = {"type": "text", "text": (v or "-")[:1024]}
            if named and i < len(names):
                param["parameter_name"] = names[i]
            params.append(param)
        template["components"] = [{"type": "body", "parameters": params}]
    return template


def is_marketing(template) -> bool:
    """A marketing template: what a customer who stopped marketing messages in WhatsApp's
    settings must not get (Meta would refuse it anyway). Utility and authentication ones
    still reach them."""
    return str(template.category or "").strip().lower() == "marketing"
