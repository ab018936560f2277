"""WhatsApp broadcasts to a segment: template and variables, throttling, opt-outs, statuses."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Broadcast,
    BroadcastRecipient,
    Channel,
    Customer,
    Platform,
    Segment,
    Template,
    TemplateStatus,
)
from app.services import broadcasts, segments
from tests.meta_payloads import wa_status, whatsapp
from tests.test_segments import _customer

WA_NUMBER = "109876543210"


@pytest.fixture
def audience(app, world):
    """Tenant A: a WhatsApp number, an approved template, three WhatsApp customers (one opted
    out), an Instagram one, and a segment of everybody."""
    with app.app_context():
        t = world.a.tenant_id
        channel = Channel(tenant_id=t, name="WA-A", platform=Platform.WHATSAPP, external_id=WA_NUMBER,
                          access_token="wa-secret-token")
        template = Template(tenant_id=t, name="new_arrivals", platform="whatsapp", language="en_US",
                            body="Hi {{1}}, new kurtas are in at {{2}}!", status=TemplateStatus.APPROVED)
        draft = Template(tenant_id=t, name="not_yet", platform="whatsapp", body="Hi {{1}}",
                         status=TemplateStatus.DRAFT)
        db.session.add_all([channel, template, draft])
        people = {
            "asha": _customer(t, "919800000001", name="Asha Rao", paid=(250000,)),
            "ravi": _customer(t, "919800000002", name=None),
            "out": _customer(t, "919800000003", name="Opted Out", opted_out=True),
            "insta": _customer(t, "17841400000", platform=Platform.INSTAGRAM, name="Insta Person"),
        }
        people["ravi"].name = None
        db.session.flush()
        seg = segments.save(t, "Everyone", segments.Filters())
        ids = {k: v.id for k, v in people.items()} | {
            "channel": channel.id, "template": template.id, "draft": draft.id, "segment": seg.id}
    return world, ids


def _start(b, ids, **over):
    data = {"name": "Diwali drop", "segment_id": ids["segment"], "channel_id": ids["channel"],
            "template_id": ids["template"], "variable": ["{first_name}", "{business}"], "per_second": "1"}
    data.update(over)
    data["csrf_token"] = b.csrf("/broadcasts/new")
    return b.client.post("/broadcasts/new", data=data)


def _recipients(app, broadcast_id):
    with app.app_context():
        rows = db.session.scalars(select(BroadcastRecipient).where(
            BroadcastRecipient.broadcast_id == broadcast_id)).all()
        return {r.customer.external_id: (r.outcome(), r.reason) for r in rows}


def test_broadcast_sends_the_template_with_variables_throttled_and_skips_opted_out(
        app, browser, graph, run_jobs, audience):
    world, ids = audience
    b = browser("owner_a")
    resp = _start(b, ids)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-800:]
    with app.app_context():
        broadcast_id = db.session.scalar(select(Broadcast.id))

    with app.app_context():  # one batch is `per_second` messages; the next goes a second later
        assert broadcasts.send_batch(broadcast_id, world.a.tenant_id) == 1
    assert len(graph.sends()) == 1
    run_jobs(ahead=10)
    sends = graph.sends()
    assert sorted(s["to"] for s in sends) == ["919800000001", "919800000002"]
    asha = next(s for s in sends if s["to"] == "919800000001")
    assert asha["type"] == "template"
    assert asha["template"] == {"name": "new_arrivals", "language": {"code": "en_US"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Asha"}, {"type": "text", "text": "Tenant A"}]}]}
    ravi = next(s for s in sends if s["to"] == "919800000002")
    assert ravi["template"]["components"][0]["parameters"][0]["text"] == "there"  # no name: never ""

    outcome = _recipients(app, broadcast_id)
    assert outcome["919800000001"][0] == "sent" and outcome["919800000002"][0] == "sent"
    assert outcome["919800000003"] == ("skipped", "opted out of automated messages")
    assert outcome["17841400000"][0] == "skipped" and "not a WhatsApp customer" in outcome["17841400000"][1]
    with app.app_context():
        assert db.session.get(Broadcast, broadcast_id).status == "done"

    page = b.get(f"/broadcasts/{broadcast_id}").get_data(as_text=True)
    assert "Asha Rao" in page and "opted out" in page and "2 sent" in page


def test_delivery_statuses_reach_the_recipient_rows(app, browser, graph, run_jobs, post_meta, audience):
    world, ids = audience
    _start(browser("owner_a"), ids)
    run_jobs(ahead=10)
    with app.app_context():
        broadcast_id = db.session.scalar(select(Broadcast.id))
        msg = db.session.scalar(select(BroadcastRecipient).where(
            BroadcastRecipient.customer_id == ids["asha"])).message
        wamid = msg.external_id
    post_meta(whatsapp(WA_NUMBER, statuses=[wa_status(wamid, "read", "919800000001")]))
    assert _recipients(app, broadcast_id)["919800000001"][0] == "read"


def test_someone_who_opts_out_mid_broadcast_gets_nothing_more(app, browser, graph, run_jobs, audience):
    world, ids = audience
    _start(browser("owner_a"), ids)  # Ravi is frozen as a recipient, then writes STOP
    with app.app_context():
        db.session.get(Customer, ids["ravi"]).opted_out = True
        db.session.commit()
        broadcast_id = db.session.scalar(select(Broadcast.id))
    run_jobs(ahead=10)
    assert [s["to"] for s in graph.sends()] == ["919800000001"]
    assert _recipients(app, broadcast_id)["919800000002"] == ("skipped", "opted out of automated messages")


def test_cancel_stops_the_rest_and_a_repeated_batch_sends_nothing_twice(app, browser, graph, run_jobs, audience):
    world, ids = audience
    b = browser("owner_a")
    _start(b, ids)
    with app.app_context():
        broadcast_id = db.session.scalar(select(Broadcast.id))
        tenant_id = world.a.tenant_id
        # the batch job delivered twice (a retry, a duplicate queueing): each recipient once
        broadcasts.send_batch(broadcast_id, tenant_id)
        broadcasts.send_batch(broadcast_id, tenant_id)
    assert len(graph.sends()) == 2
    # a fresh broadcast, cancelled after its first batch
    _start(b, ids, name="Second")
    run_jobs()
    with app.app_context():
        second = db.session.scalar(select(Broadcast.id).where(Broadcast.name == "Second"))
    sent_before = len(graph.sends())
    resp = b.client.post(f"/broadcasts/{second}/cancel", data={"csrf_token": b.csrf(f"/broadcasts/{second}")})
    assert resp.status_code == 302
    run_jobs(ahead=10)
    assert len(graph.sends()) == sent_before
    reasons = {r for _, r in _recipients(app, second).values()}
    assert "broadcast cancelled" in reasons


@pytest.mark.parametrize("over, message", [
    ({"template_id": "draft"}, "not an approved WhatsApp template"),
    ({"channel_id": "messenger"}, "WhatsApp only"),
    ({"variable": ["{first_name}"]}, "has no value"),
    ({"variable": ["{email}", "x"]}, "unknown field"),
    ({"per_second": "500"}, "1 to 80"),
    ({"name": ""}, "name"),
])
def test_a_broadcast_that_cannot_go_out_is_refused_with_the_reason(app, browser, graph, audience, over, message):
    world, ids = audience
    over = {k: (ids["draft"] if v == "draft" else world.a["channel"] if v == "messenger" else v)
            for k, v in over.items()}
    resp = _start(browser("owner_a"), ids, **over)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Broadcast.id)) is None
    assert graph.sends() == []


def test_staff_cannot_broadcast(browser, audience):
    world, ids = audience
    b = browser("staff_a")
    assert b.get("/broadcasts/new").status_code in (302, 403)
    assert b.get("/segments/").status_code == 200  # segments are theirs to use


def test_tenant_isolation_of_broadcasts(app, browser, graph, run_jobs, audience):
    world, ids = audience
    with app.app_context():
        t_b = world.b.tenant_id
        seg_b = segments.save(t_b, "B all", segments.Filters()).id
        chan_b = Channel(tenant_id=t_b, name="WA-B", platform=Platform.WHATSAPP, external_id="555000",
                         access_token="b-token")
        tmpl_b = Template(tenant_id=t_b, name="b_tmpl", platform="whatsapp", body="Hi",
                          status=TemplateStatus.APPROVED)
        db.session.add_all([chan_b, tmpl_b])
        db.session.commit()
        chan_b, tmpl_b = chan_b.id, tmpl_b.id
    a = browser("owner_a")
    for over, message in (({"segment_id": seg_b}, "no such segment"), ({"channel_id": chan_b}, "no such channel"),
                          ({"template_id": tmpl_b}, "no such template")):
        resp = _start(a, ids, **over)
        assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    owner_b = browser("owner_b")
    assert _start(a, ids, name="A secret sale").status_code == 302
    resp = _start(owner_b, {"segment": seg_b, "channel": chan_b, "template": tmpl_b}, variable=[], name="B sale")
    assert resp.status_code == 302
    with app.app_context():
        b_id = db.session.scalar(select(Broadcast.id).where(Broadcast.tenant_id == t_b))
    assert a.get(f"/broadcasts/{b_id}").status_code == 404
    assert a.client.post(f"/broadcasts/{b_id}/cancel", data={"csrf_token": a.csrf("/broadcasts/")}).status_code == 404
    listing = owner_b.get("/broadcasts/").get_data(as_text=True)
    assert "B sale" in listing and "A secret sale" not in listing
    run_jobs(ahead=10)
    assert all(s["to"] != "919800000001" for s in graph.sends()
               if s.get("template", {}).get("name") == "b_tmpl")
    with app.app_context():
        assert db.session.scalar(select(Segment.id).where(Segment.id == seg_b)) == seg_b


def test_template_variables_numbered_and_named():
    from app.services import templates

    assert templates.placeholders("Hi {{2}} and {{1}}") == ["1", "2"]
    assert templates.render("Hi {{1}}, {{2}}!", ["Asha", "Rangrez"]) == "Hi Asha, Rangrez!"
    named = "Hi {{first_name}}, your {{ order }} for {{first_name}}"
    assert templates.placeholders(named) == ["first_name", "order"]
    assert templates.render(named, ["Asha", "R-12"]) == "Hi Asha, your R-12 for Asha"
    assert templates.whatsapp_template("t", "en_US", ["Asha", ""], named)["components"][0]["parameters"] == [
        {"type": "text", "text": "Asha", "parameter_name": "first_name"},
        {"type": "text", "text": "-", "parameter_name": "order"}]
    assert "components" not in templates.whatsapp_template("t", "en", [], "No variables")


def test_a_template_with_header_variables_is_refused(app, browser, graph, audience):
    world, ids = audience
    with app.app_context():
        db.session.get(Template, ids["template"]).variable_count = 3  # two in the body, one in a header
        db.session.commit()
    resp = _start(browser("owner_a"), ids)
    assert resp.status_code == 400 and "outside its body" in resp.get_data(as_text=True)
