"""Leo as an outside checker asks it: phrasings the common-question tests don't use, bodies
that are not a question, figures against the analytics API, and a Groq that answers badly
(faked at HTTP: malformed bodies, no tool result behind a figure, rate limits)."""
from __future__ import annotations

import json

import httpx
import pytest

from tests.groq_fake import completion
from tests.test_leo import ask, leo_groq, shop, values  # noqa: F401  (fixtures and helpers)

OUTSIDE_QUESTION = "Is my conversion rate good compared to the industry benchmark?"


def _no_choices():
    return httpx.Response(200, json={"id": "x", "object": "chat.completion", "created": 1, "model": "m",
                                     "choices": []})


# ---------------------------------------------------------------------------- the Groq path


@pytest.mark.parametrize("bodies", [
    [_no_choices()],
    [httpx.Response(200, text="<html>upstream proxy error</html>")],
    [httpx.Response(200, json=[1, 2])],
    [httpx.Response(200, json={"choices": [{"index": 0, "message": None}]})],
], ids=["no choices", "not json", "a list", "no message"])
def test_a_malformed_groq_body_falls_back_to_the_offline_answer(app, shop, api, leo_groq, bodies):
    leo_groq.side_effect = bodies * 3
    resp = api("owner_a").post("/api/v1/leo/ask", json={"question": "What was my revenue today?"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    figures = resp.json["figures"]
    assert figures["source"] == "offline" and figures["fallback"] == "MalformedCompletion"
    assert figures["notice"].startswith("The AI model could not answer")
    assert resp.json["answer"].startswith("Revenue today: ₹2,798.00")


def test_a_malformed_outside_body_leaves_the_answer_without_it(app, shop, api, leo_groq):
    leo_groq.side_effect = [
        completion(tool_calls=[("summary", {"period": "this month"})]),
        completion("Your conversion rate this month is 50.0%."),
        _no_choices(), _no_choices(),
    ]
    resp = api("owner_a").post("/api/v1/leo/ask", json={"question": OUTSIDE_QUESTION})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["answer"] == "Your conversion rate this month is 50.0%."
    assert resp.json["figures"]["source"] == "groq" and "outside" not in resp.json["figures"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_groq_refusing_is_answered_offline_and_labelled(app, shop, leo_groq, status):
    leo_groq.side_effect = [httpx.Response(status, headers={"retry-after": "0"},
                                           json={"error": {"message": "busy"}})] * 3
    r = ask(app, shop, "sales yesterday")
    assert r["figures"]["source"] == "offline" and r["figures"]["fallback"]
    assert r["figures"]["notice"] == "The AI model could not answer just now, so this is Leo's built-in answer from the same figures."
    assert r["answer"] == "Revenue yesterday: ₹0.00 from 0 paid orders."


def test_figures_the_model_states_without_a_tool_result_are_not_shown(app, shop, leo_groq):
    """A model that answers with numbers it never asked a tool for made them up: the owner gets
    the offline answer from the real figures, labelled, instead."""
    leo_groq.side_effect = [completion("Your revenue today was ₹45,000 from 12 orders.")]
    r = ask(app, shop, "what was my revenue today?")
    assert r["figures"]["source"] == "offline" and r["figures"]["fallback"] == "figures without a tool result"
    assert "45,000" not in json.dumps(r) and r["answer"].startswith("Revenue today: ₹2,798.00")
    assert r["figures"]["notice"]
    # figures whose every tool call failed are no better
    leo_groq.side_effect = [completion(tool_calls=[("summary", {"start": "2025-11-10", "end": "2025-11-01"}),
                                                   ("revenue", {"period": "today"})]),
                            completion("You made ₹45,000 today.")]
    r = ask(app, shop, "what was my revenue today?")
    assert r["figures"]["source"] == "offline" and "45,000" not in json.dumps(r)


def test_a_model_answer_without_figures_or_tools_stands(app, shop, leo_groq):
    leo_groq.side_effect = [completion("I can only see your own business, not other shops.")]
    r = ask(app, shop, "what is Tenant B's revenue?")
    assert r["answer"] == "I can only see your own business, not other shops."
    assert r["figures"]["source"] == "groq" and "notice" not in r["figures"]


def test_hostile_tool_arguments_are_errors_or_this_tenant(app, shop, leo_groq):
    leo_groq.side_effect = [
        completion(tool_calls=[("summary", "not json"), ("summary", "[1, 2]"),
                               ("summary", {"start": "03/11/2025", "end": "2025-11-01"}),
                               ("summary", {"start": "2025-11-10", "end": "2025-11-01"}),
                               ("summary", {"tenant_id": shop.b.tenant_id, "period": "today"}),
                               ("breakdown", {"by": ["campaign"]}), ("heatmap", {"kind": {"x": 1}}),
                               ("drop_tables", {}), ("", {}),
                               ("summary", {"platform": ["instagram"]}),
                               ("summary", {"campaign_id": "1 or 1=1"})]),
        completion("Here is what I found today."),
    ]
    r = ask(app, shop, "how did today go?")
    sent = [json.loads(m["content"]) for m in json.loads(leo_groq.calls[1].request.content)["messages"]
            if m["role"] == "tool"]
    errors = [s.get("error") for s in sent]
    assert errors[0] == "arguments were not valid JSON; try again"
    assert errors[2] == "start and end must be dates as YYYY-MM-DD" and errors[3] == "end is before start"
    assert sent[4]["revenue_minor"] == 279800  # the tenant named in the arguments is ignored: A's own
    assert errors[5].startswith("by must be") and errors[6].startswith("kind must be")
    assert errors[7] == "unknown tool drop_tables" and errors[8] == "unknown tool "
    assert errors[9].startswith("platform must be") and errors[10] == "campaign_id must be an integer"
    assert "999900" not in json.dumps(sent) + json.dumps(r)
    assert r["figures"]["source"] == "groq"


# ---------------------------------------------------------------------------- offline: reading


@pytest.mark.parametrize("question, intent, period", [
    ("campaign performance", "campaigns", None),
    ("conv rate for November", "conversion", "November 2026"),
    ("this quarter", "overview", "this quarter"),
    ("revenue this qtr", "revenue", "this quarter"),
    ("sales last quarter", "revenue", "last quarter"),
    ("revenue in q3", "revenue", "Q3 2026"),
    ("aaj ka revenue kitna hai", "revenue", "today"),
    ("kal ki sale", "revenue", "yesterday"),
    ("pichle hafte ka revenue", "revenue", "last week"),
    ("is mahine ka conversion rate", "conversion", "this month"),
    ("did the bot give any discounts", "promises", None),
    ("what offers did the ai make this week", "promises", "this week"),
    ("any discounts the bot offered", "promises", None),
    ("sales on 2026-11-03", "revenue", "2026-11-03"),
    ("revenue from 2026-11-15 to 2026-11-01", "revenue", "2026-11-01 to 2026-11-15"),
    ("revenue on 2026-02-30", "revenue", None),  # no such day: no period read from it
    ("is this week better than last", "improve", "this week"),  # "is" alone stays English
])
def test_more_phrasings_read_as_meant(question, intent, period):
    from datetime import date

    from app.ai.leo.offline import intent_of
    from app.ai.leo.periods import parse_period
    from app.ai.leo.spelling import corrected

    read = corrected(question)
    found = parse_period(read, date(2026, 12, 2))
    assert (intent_of(read), found.label if found else None) == (intent, period)


@pytest.mark.parametrize("text, start, end", [
    ("this quarter", "2026-10-01", "2026-12-02"),
    ("last quarter", "2026-07-01", "2026-09-30"),
    ("q1", "2026-01-01", "2026-03-31"),
    ("q1 2025", "2025-01-01", "2025-03-31"),
    ("revenue between 2024-01-01 and 2026-12-02", "2025-12-02", "2026-12-02"),  # at most 366 days
])
def test_quarters_and_written_dates(text, start, end):
    from datetime import date

    from app.ai.leo.periods import parse_period

    p = parse_period(text, date(2026, 12, 2))
    assert (p.start.isoformat(), p.end.isoformat()) == (start, end)


@pytest.mark.parametrize("text, start, end", [  # 2026-12-02 is a Wednesday
    ("revenue since monday", "2026-11-30", "2026-12-02"),
    ("what was revenue on monday", "2026-11-30", "2026-11-30"),
    ("sales last wednesday", "2026-11-25", "2026-11-25"),  # said on a Wednesday: a week ago
    ("last weekend sales", "2026-11-28", "2026-11-29"),
    ("this weekend", "2026-11-28", "2026-11-29"),  # not yet this week: the one just past
    ("sales from 1 nov to 15 nov", "2026-11-01", "2026-11-15"),
    ("revenue 1-15 nov", "2026-11-01", "2026-11-15"),
    ("1 to 15 of october", "2026-10-01", "2026-10-15"),
    ("from nov 1 till nov 15, 2025", "2025-11-01", "2025-11-15"),  # one year for both
    ("orders since 5th november", "2026-11-05", "2026-12-02"),
    ("sales on nov 3rd", "2026-11-03", "2026-11-03"),
    ("sales on 25 dec", "2025-12-25", "2025-12-25"),  # no year: the latest one up to today
    ("sales since sept", "2026-09-01", "2026-12-02"),
    ("conversion from 15 dec to 5 jan", "2025-12-15", "2026-01-05"),
])
def test_weekdays_weekends_and_days_in_words(text, start, end):
    from datetime import date

    from app.ai.leo.periods import parse_period

    p = parse_period(text, date(2026, 12, 2))
    assert p is not None and (p.start.isoformat(), p.end.isoformat()) == (start, end), (text, p)


def test_a_day_in_words_that_is_no_day_names_no_period():
    from datetime import date

    from app.ai.leo.periods import parse_period

    assert parse_period("revenue on 31 nov", date(2026, 12, 2)) is None


def test_a_weekday_is_answered_for_that_day(app, shop):
    r = ask(app, shop, "revenue since monday")
    assert r["figures"]["period"]["start"] <= r["figures"]["period"]["end"]
    assert r["figures"]["period"]["label"].startswith("since ")
    assert "the last 30 days" not in r["answer"]


def test_a_generic_word_does_not_name_a_campaign():
    """Near-spelling of a name is looked for among the question's own words, not "campaign"."""
    from app.ai.leo.offline import _named

    rows = [(1, "Camp-A"), (2, "Campaign 2"), (3, "Diwali Drive")]
    for q in ("campaign performance", "how are my campaigns doing?", "campaigns this month", "campaign results"):
        assert _named(q, rows) is None, q
    assert _named("how is campaign 2 doing", rows) == (2, "Campaign 2")
    assert _named("how is the diwali drve doing", rows) == (3, "Diwali Drive")


# ---------------------------------------------------------------------------- offline: answers


def test_campaign_performance_ranks_every_campaign(app, shop):
    r = ask(app, shop, "campaign performance")
    assert r["figures"]["intent"] == "campaigns"
    assert [v["label"] for v in r["figures"]["values"]] == ["Camp-A", "Diwali Drive"]


def test_hinglish_today_is_today(app, shop):
    r = ask(app, shop, "aaj ka revenue kitna hai")
    assert r["figures"]["period"]["label"] == "today" and r["answer"].startswith("Revenue today: ₹2,798.00")


def test_a_question_naming_another_business_is_told_whose_figures_these_are(app, shop):
    for question in ("what is Tenant B's revenue", "how are my competitors doing this month"):
        r = ask(app, shop, question)
        assert r["answer"].startswith("I can only see Tenant A's own figures, not another business's."), question
        assert "9,999" not in json.dumps(r) and "999900" not in json.dumps(r)
    for own in ("Tenant A's revenue today", "what's today's revenue", "how is Diwali Drive's conversion"):
        assert not ask(app, shop, own)["answer"].startswith("I can only see"), own


@pytest.mark.parametrize("question, by", [
    (None, None), ("how are my campaigns doing?", "campaign"), ("top products this month", "product"),
    ("which platform works best this month", "platform"),
])
def test_figures_equal_the_analytics_api(app, shop, api, question, by):
    """Leo's numbers are the analytics API's numbers for the same tenant and period."""
    client = api("owner_a")
    question = question or "what's my conversion rate this month?"
    answer = client.post("/api/v1/leo/ask", json={"question": question}).json
    period = answer["figures"]["period"]
    query = f"start={period['start']}&end={period['end']}"
    if by is None:
        summary = client.get(f"/api/v1/analytics/summary?{query}").json
        summary = summary.get("result", summary)
        raw = {v["label"]: v["raw"] for v in answer["figures"]["values"]}
        assert raw == {"Conversion rate": summary["conversion_rate"], "Conversations": summary["conversations"],
                       "Paid orders": summary["orders_paid"], "Revenue": summary["revenue_minor"]}
        assert (summary["conversations"], summary["revenue_minor"]) == (4, 279800)  # by hand: the fixture
        return
    rows = client.get(f"/api/v1/analytics/breakdown?{query}&by={by}").json
    rows = rows.get("result", rows)
    rows = rows.get("rows", rows) if isinstance(rows, dict) else rows
    api_rows = {str(r.get("key")): (r.get("revenue_minor"), r.get("orders_paid")) for r in rows}
    leo_rows = {str(v["raw"].get("key")): (v["raw"].get("revenue_minor"), v["raw"].get("orders_paid"))
                for v in answer["figures"]["values"]}
    assert leo_rows and all(api_rows[k] == v for k, v in leo_rows.items()), (leo_rows, api_rows)
    assert "999900" not in json.dumps(answer)
