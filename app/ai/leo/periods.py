"""Reading a period and a platform out of an owner's question ("this month", "on Instagram").

Days are the tenant's own calendar days: the caller passes today's date in the tenant's
timezone, and every period is a range of whole local days, both ends included (what the
analytics functions take).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

DEFAULT_DAYS = 30
MAX_DAYS = 366
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "fourteen": 14, "thirty": 30,
            "ninety": 90, "a": 1, "an": 1}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
PLATFORM_WORDS = {
    "instagram": ("instagram", "insta", r"\big\b"),
    "whatsapp": ("whatsapp", "whats app", r"\bwa\b"),
    "messenger": ("messenger", "facebook", r"\bfb\b"),
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    label: str

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


def _month(year: int, month: int, today: date, label: str) -> Period:
    last = date(year, month, calendar.monthrange(year, month)[1])
    return Period(date(year, month, 1), min(last, today), label)


_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def _span(n: int, unit: str, today: date, label: str) -> Period:
    asked = _UNIT_DAYS[unit] * n
    days = max(1, min(asked, MAX_DAYS))
    if days != asked:  # the answer names the days it read, not the ones asked for
        label = f"the last {days} day{'s' if days != 1 else ''}"
    return Period(today - timedelta(days=days - 1), today, label)


def parse_period(text: str, today: date) -> Period | None:
    """The period a question names, or None if it names none."""
    q = (text or "").lower()
    week_start = today - timedelta(days=today.weekday())
    if re.search(r"\btoday\b|\bso far today\b", q):
        return Period(today, today, "today")
    if re.search(r"\byesterday\b", q):
        day = today - timedelta(days=1)
        return Period(day, day, "yesterday")
    m = re.search(r"\b(?:last|past|previous)\s+(\d{1,12}|" + "|".join(_NUMBERS) + r")\s+(day|week|month|year)s?\b", q)
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1)]
        if n * _UNIT_DAYS[m.group(2)] > MAX_DAYS:  # said, not silently swapped for another period
            return _span(MAX_DAYS, "day", today, f"the last {MAX_DAYS} days (the longest I look back)")
        return _span(n, m.group(2), today, f"the last {n} {m.group(2)}{'s' if n != 1 else ''}")
    if re.search(r"\bthis week\b|\bthe week so far\b", q):
        return Period(week_start, today, "this week")
    if re.search(r"\b(last|previous) week\b", q):
        return Period(week_start - timedelta(days=7), week_start - timedelta(days=1), "last week")
    if re.search(r"\bpast week\b", q):
        return _span(7, "day", today, "the last 7 days")
    if re.search(r"\bthis month\b|\bmonth so far\b|\bmtd\b", q):
        return Period(today.replace(day=1), today, "this month")
    if re.search(r"\b(last|previous) month\b", q):
        prev = today.replace(day=1) - timedelta(days=1)
        return _month(prev.year, prev.month, today, "last month")
    if re.search(r"\bpast month\b", q):
        return _span(30, "day", today, "the last 30 days")
    if re.search(r"\bthis year\b|\bytd\b|\byear so far\b", q):
        return Period(date(today.year, 1, 1), today, "this year")
    if re.search(r"\b(last|previous) year\b", q):
        return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), "last year")
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if re.search(r"\bthis (quarter|qtr)\b|\bquarter so far\b|\bqtd\b", q):
        return Period(quarter_start, today, "this quarter")
    if re.search(r"\b(last|previous) (quarter|qtr)\b", q):
        end = quarter_start - timedelta(days=1)
        return Period(date(end.year, end.month - 2, 1), end, "last quarter")
    m = re.search(r"\bq([1-4])\b(?:\s*(?:of\s+)?(20\d\d))?", q)
    if m:
        n = int(m.group(1))
        year = int(m.group(2)) if m.group(2) else today.year if 3 * n - 2 <= today.month else today.year - 1
        start = date(year, 3 * n - 2, 1)
        if start <= today:
            end = date(year, 3 * n, calendar.monthrange(year, 3 * n)[1])
            return Period(start, min(end, today), f"Q{n} {year}")
    found = _dates(q, today) or _written_days(q, today) or _weekdays(q, today)
    if found is not None:
        return found
    m = re.search(r"\b(?:in|for|during)\s+(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b", q)
    if m:
        month = _MONTHS[m.group(1)]
        year = today.year if month <= today.month else today.year - 1
        return _month(year, month, today, f"{calendar.month_name[month]} {year}")
    return None


_ISO_DATE = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")


def _dates(q: str, today: date) -> Period | None:
    """"on 2026-11-03", "from 2026-11-01 to 2026-11-15": the days written (either order), at
    most MAX_DAYS of them, ending at the later one; a date that is no calendar day names none."""
    days = []
    for m in _ISO_DATE.finditer(q):
        try:
            days.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            return None
    if not days:
        return None
    lo, hi = min(days[:2]), max(days[:2])
    if lo == hi:
        return Period(lo, hi, lo.isoformat())
    if (hi - lo).days >= MAX_DAYS:
        lo = hi - timedelta(days=MAX_DAYS - 1)
        return Period(lo, hi, f"{lo.isoformat()} to {hi.isoformat()} (the longest I look back)")
    return Period(lo, hi, f"{lo.isoformat()} to {hi.isoformat()}")


_MONTH = "(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(20\d\d))?"
# "1 nov", "1st of november 2026", "nov 1", "november 1st, 2026"
_DAY_MONTH = re.compile(r"\b" + _ORD + r"\s+(?:of\s+)?" + _MONTH + r"\b" + _YEAR)
_MONTH_DAY = re.compile(r"\b" + _MONTH + r"\s+" + _ORD + r"\b" + _YEAR)
# "1-15 nov", "1 to 15 november": one month, the days run between two numbers
_DAYS_OF_MONTH = re.compile(r"\b" + _ORD + r"\s*(?:-|–|to|till|until|and)\s*" + _ORD + r"\s+(?:of\s+)?"
                            + _MONTH + r"\b" + _YEAR)
_SINCE = re.compile(r"\b(?:since|from)\s+(?:the\s+)?(?:start\s+of\s+|beginning\s+of\s+)?" + _MONTH + r"\b(?!\s+\d)")
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}
_WEEKDAYS.update({name.lower(): i for i, name in enumerate(calendar.day_abbr)})
_WEEKDAY = "(" + "|".join(sorted(_WEEKDAYS, key=len, reverse=True)) + ")"


def _day(day: int, month_word: str, year: str | None, today: date) -> date | None:
    """A day of a month written without a year is the latest such day up to today."""
    month = _MONTHS[month_word]
    try:
        if year:
            return date(int(year), month, day)
        written = date(today.year, month, day)
        return written if written <= today else date(today.year - 1, month, day)
    except ValueError:
        return None


def _between(lo: date, hi: date, today: date, since: bool = False) -> Period | None:
    lo, hi = min(lo, hi), max(lo, hi)
    if lo > today:
        return None
    hi = min(hi, today)
    label = f"{lo.isoformat()} to {hi.isoformat()}" if lo != hi else lo.isoformat()
    if since:
        label = f"since {lo.isoformat()}"
    if (hi - lo).days >= MAX_DAYS:
        lo = hi - timedelta(days=MAX_DAYS - 1)
        label = f"{lo.isoformat()} to {hi.isoformat()} (the longest I look back)"
    return Period(lo, hi, label)


def _written_days(q: str, today: date) -> Period | None:
    """Days written in words: "on 3 nov", "1 nov to 15 nov", "from nov 1 till nov 15",
    "1-15 november", "since 5th october", "since november"."""
    m = _DAYS_OF_MONTH.search(q)
    if m:
        lo, hi = _day(int(m.group(1)), m.group(3), m.group(4), today), _day(int(m.group(2)), m.group(3), m.group(4), today)
        return _between(lo, hi, today) if lo and hi else None
    written = sorted([(m.start(), int(m.group(1)), m.group(2), m.group(3)) for m in _DAY_MONTH.finditer(q)]
                     + [(m.start(), int(m.group(2)), m.group(1), m.group(3)) for m in _MONTH_DAY.finditer(q)])
    year = next((y for *_, y in written if y), None)  # "nov 1 till nov 15, 2025": both in 2025
    found = [(at, _day(day, month, y or year, today)) for at, day, month, y in written]
    days = [day for _, day in found]
    if None in days:
        return None  # "31 nov": no such day, and no other period is read in its place
    if len(days) >= 2:
        return _between(days[0], days[1], today)
    if days:
        since = re.search(r"\b(?:since|from|after)\s+(?:the\s+)?$", q[:found[0][0]])
        return _between(days[0], today if since else days[0], today, since=bool(since))
    m = _SINCE.search(q)
    if m:
        month = _MONTHS[m.group(1)]
        year = today.year if month <= today.month else today.year - 1
        return _between(date(year, month, 1), today, today, since=True)
    return None


def _weekdays(q: str, today: date) -> Period | None:
    """"since monday" (the latest Monday up to today, to today), "on monday" / "last
    monday" (that one day: the latest one before today), "this weekend" (the latest Saturday
    and Sunday up to today), "last weekend" (the one before the current week)."""
    week_start = today - timedelta(days=today.weekday())
    if re.search(r"\b(last|previous|past) weekend\b", q):
        saturday = week_start - timedelta(days=2)
        return Period(saturday, saturday + timedelta(days=1), "last weekend")
    if re.search(r"\b(this|the) weekend\b|\bweekend so far\b", q):
        saturday = week_start + timedelta(days=5)
        if saturday > today:  # not yet this week: the one just past
            saturday -= timedelta(days=7)
            return Period(saturday, saturday + timedelta(days=1), "last weekend")
        return Period(saturday, today, "this weekend")
    m = re.search(r"\b(since|on|last|this|past|previous)\s+" + _WEEKDAY + r"\b", q)
    if m:
        weekday = _WEEKDAYS[m.group(2)]
        back = (today.weekday() - weekday) % 7
        if m.group(1) in ("last", "past", "previous") and back == 0:
            back = 7  # "last monday", said on a Monday: a week ago
        day = today - timedelta(days=back)
        name = calendar.day_name[weekday]
        if m.group(1) == "since":
            return Period(day, today, f"since {name} {day.isoformat()}")
        return Period(day, day, f"{name} {day.isoformat()}")
    return None


def default_period(today: date) -> Period:
    return _span(DEFAULT_DAYS, "day", today, f"the last {DEFAULT_DAYS} days")


def parse_platform(text: str) -> str | None:
    q = (text or "").lower()
    for platform, words in PLATFORM_WORDS.items():
        if any(re.search(w if w.startswith(r"\b") else r"\b" + re.escape(w), q) for w in words):
            return platform
    return None
