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
