"""The password policy: one function every path that sets a password goes through.

At least 12 characters, not guessable (zxcvbn, Dropbox's estimator, scores it 3 or more out of
4: common passwords, keyboard walks, dates and dictionary words with digits tacked on score
lower), and free of the person's own name, username, email or business name, which an attacker
tries first. The team screens, tenant creation, the CLI, FAB's user and reset-password screens
and the demo seed all call `check_password` (through `StrongPassword` on a form, or
`ensure_strong` in a service), so a future sign-up page gets the same rule by reusing them.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from wtforms.validators import ValidationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MIN_SCORE = 3
# A personal word this short ("ann", "co") turns up inside unrelated passwords too often.
MIN_PERSONAL_WORD = 4
# zxcvbn's matching grows with length; anything guessable shows up in the first characters.
SCORED_PREFIX = 64

POLICY_HINT = (
    f"At least {MIN_LENGTH} characters, hard to guess, and without your name, username, "
    "email or business name"
)
TOO_SHORT = f"Use at least {MIN_LENGTH} characters"
TOO_PERSONAL = "Don't use your name, username, email or business name in the password"
TOO_COMMON = "This password is too common or easy to guess"


class WeakPasswordError(ValueError):
    """A password the policy refuses; the message says why, for the person choosing it."""


def personal_words(user_inputs: Iterable[str | None]) -> list[str]:
    """Lower-cased words a password must not contain: each input whole and in its pieces.

    "kiran.s@sarees-shop.in" gives the whole address plus "kiran", "sarees", "shop"; pieces
    shorter than MIN_PERSONAL_WORD are dropped.
    """
    words: list[str] = []
    for value in user_inputs:
        value = (value or "").strip().lower()
        for word in [value, *re.split(r"[^a-z0-9]+", value)]:
            if len(word) >= MIN_PERSONAL_WORD and word not in words:
                words.append(word)
    return words


def check_password(password: str, user_inputs: Iterable[str | None] = ()) -> list[str]:
    """What is wrong with `password` for this person; an empty list means it is accepted.

    Args:
        password: the new password, as typed.
        user_inputs: the person's username, email, names and business name (None is skipped).

    Returns:
        Human-readable problems: too short, contains a personal word, too guessable.
    """
    password = password or ""
    words = personal_words(user_inputs)
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(TOO_SHORT)
    lowered = password.lower()
    if any(word in lowered for word in words):
        problems.append(TOO_PERSONAL)
    result = zxcvbn(password[:SCORED_PREFIX], user_inputs=words) if password else None
    if result is None or result["score"] < MIN_SCORE:
        warning = result["feedback"]["warning"] if result else ""
        problems.append(f"{TOO_COMMON} ({warning.rstrip('.')})" if warning else TOO_COMMON)
    return problems


def ensure_strong(password: str, user_inputs: Iterable[str | None] = ()) -> None:
    """Raise WeakPasswordError naming every problem with `password`."""
    problems = check_password(password, user_inputs)
    if problems:
        raise WeakPasswordError("Password refused: " + "; ".join(problems))


class StrongPassword:
    """WTForms validator applying check_password to the field.

    Args:
        user_inputs: called with the form, returns the person's words (username, email...);
            forms that set someone else's password pass a function that looks that user up.
    """

    def __init__(self, user_inputs: Callable[[object], Iterable[str | None]] | None = None):
        self.user_inputs = user_inputs

    def __call__(self, form, field) -> None:
        inputs = self.user_inputs(form) if self.user_inputs else ()
        problems = check_password(field.data or "", inputs)
        if problems:
            raise ValidationError("; ".join(problems))


def fab_complexity_validator(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: the policy (without personal words, which FAB's hook
    doesn't pass) on FAB forms and schemas we don't replace, e.g. its user API and self-
    registration should they be switched on."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    problems = check_password(password)
    if problems:
        raise PasswordComplexityValidationError("; ".join(problems))


def form_fields(*names: str) -> Callable[[object], list[str | None]]:
    """user_inputs for StrongPassword taken from other fields of the same form."""

    def read(form) -> list[str | None]:
        return [form[name].data for name in names if name in form]

    return read


def user_words(user) -> list[str | None]:
    """The words of an existing FAB user a password must not contain."""
    if user is None:
        return []
    return [user.username, user.email, user.first_name, user.last_name]
