"""Bulk changes staff make from list views (mass actions)."""
from __future__ import annotations

from app.extensions import db


def set_attribute(rows: list, name: str, value) -> int:
    """Set `name` to `value` on every row that differs, in one commit; returns how many changed."""
    changed = 0
    for row in rows:
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed += 1
    db.session.commit()
    return changed
