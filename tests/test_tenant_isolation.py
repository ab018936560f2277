"""Tenant isolation, generated from the registered views and APIs.

Every ModelView and ModelRestApi that the app registers is discovered here; a view whose model
this file doesn't know fails `test_every_view_is_covered`, so a new view can't skip the suite.
Logged in as tenant A's owner and staff, every list, show, edit, delete, action, mass action,
related dropdown, search filter and API verb is tried with tenant B's ids: each answers 404
(or 403 / the login redirect where the role lacks the permission) and B's rows are unchanged.
"""
from __future__ import annotations

import pytest
from flask_appbuilder import ModelRestApi, ModelView

from app import models as m
from app.extensions import db
from app.views.base import TenantModelApi, TenantModelView

ROW_KEY = {
    m.Category: "category", m.Product: "product", m.Campaign: "campaign", m.Channel: "channel",
    m.Customer: "customer", m.Conversation: "conversation", m.Message: "message",
    m.Order: "order", m.OrderItem: "order_item", m.OrderEvent: "order_event", m.Template: "template",
    m.AutomationRule: "rule", m.KnowledgeDocument: "document", m.BusinessProfile: "profile",
    m.TenantMembership: "membership", m.Tenant: "tenant",
    m.ConversationNote: "note", m.CannedReply: "canned_reply", m.AiPromise: "promise",
}
PERSONAS = ["owner_a", "staff_a"]
MARKERS = ["Cat-{t}", "SKU-{t}", "Prod-{t}", "Camp-{t}", "Chan-{t}", "page-{t}", "Cust-{t}",
           "psid-{t}", "Msg-{t}", "Note-{t}", "tmpl-{t}", "Body-{t}", "Rule-{t}", "Doc-{t}",
           "Knowledge-{t}", "Chunk-{t}", "Promise-{t}", "Tenant {t}", "owner_{l}", "secret-token-{t}"]


def leaks(text: str, *tags: str) -> list[str]:
    """The names of tenant `tag`'s rows (see tests.factories.populate) that appear in text."""
    return [mk.format(t=t, l=t.lower()) for t in tags for mk in MARKERS
            if mk.format(t=t, l=t.lower()) in text]
REFUSED = (403, 404)


# Views over rows that belong to no tenant (a webhook delivery is only tied to one once it is
# parsed): platform Admins alone may reach them, checked in test_platform_views_are_admin_only.
PLATFORM_VIEWS = {"WebhookDeliveryView"}


def registered(app, kind):
    """Our tenant views and APIs (FAB's own security screens are Admin-only: see test_roles; the
    subclasses in app.security.views only add the password policy to them)."""
    return [v for v in app.appbuilder.baseviews
            if isinstance(v, kind) and type(v).__module__.startswith("app.")
            and type(v).__module__ != "app.security.views"
            and type(v).__name__ not in PLATFORM_VIEWS]


def test_platform_views_are_admin_only(app, world, browser):
    from app.security.permissions import ROLE_ADMIN

    found = [v for v in app.appbuilder.baseviews if type(v).__name__ in PLATFORM_VIEWS]
    assert {type(v).__name__ for v in found} == PLATFORM_VIEWS
    import re

    for view in found:
        for role, rules in app.config["FAB_ROLES"].items():
            granted = any(re.match(v, view.class_permission_name) for v, _ in rules)
            assert granted == (role == ROLE_ADMIN), (role, type(view).__name__)
        url = f"/{type(view).__name__.lower()}/list/"
        assert browser("admin").get(url).status_code == 200
        for persona in ("agency", "owner_a", "staff_a"):
            resp = browser(persona).get(url)
            assert resp.status_code in (302, 403, 404), (persona, resp.status_code)


def view_ids(app):
    return [type(v).__name__ for v in registered(app, ModelView)]


@pytest.fixture(scope="module")
def views(app):
    return {type(v).__name__: v for v in registered(app, ModelView)}


@pytest.fixture(scope="module")
def apis(app):
    return {type(v).__name__: v for v in registered(app, ModelRestApi)}


def model_of(view):
    return view.datamodel.obj


def snapshot(app, model, pk):
    with app.app_context():
        row = db.session.get(model, pk)
        data = row.to_json() if row is not None else None
        db.session.remove()
        return data


def assert_refused(resp, strict: bool):
    """404 for a role that may use the view; 403 or the login redirect for one that may not."""
    if strict:
        assert resp.status_code == 404, (resp.status_code, resp.get_data(as_text=True)[:300])
    elif resp.status_code == 302:
        assert "/login" in resp.headers["Location"], resp.headers["Location"]
    else:
        assert resp.status_code in REFUSED, resp.status_code
    assert not leaks(resp.get_data(as_text=True), "B")


def can(app, username, view, perm):
    from flask_appbuilder.security.sqla.models import User

    with app.app_context():
        user = db.session.query(User).filter_by(username=username).one()
        roles = {r.name for r in user.roles}
        db.session.remove()
    fab_roles = app.config["FAB_ROLES"]
    import re

    for role in roles:
        for view_re, perm_re in fab_roles.get(role, []):
            if re.match(view_re, view.class_permission_name) and re.match(perm_re, perm):
                return True
    return False


def test_every_view_is_covered(app):
    for view in registered(app, ModelView) + registered(app, ModelRestApi):
        model = model_of(view)
        assert model in ROW_KEY, f"{type(view).__name__} ({model.__name__}) has no isolation rows"
        if model is not m.Tenant:
            assert isinstance(view, (TenantModelView, TenantModelApi)), (
                f"{type(view).__name__} must use the tenant-scoped mixin"
            )
        for attr in ("list_columns", "show_columns", "add_columns", "edit_columns",
                     "search_columns"):
            route = {"add_columns": ("add", "post"), "edit_columns": ("edit", "put")}.get(attr)
            if route and view.include_route_methods and not set(route) & set(view.include_route_methods):
                continue
            declared = type(view).__dict__.get(attr) or getattr(view, attr, None) or []
            exposed = {c.split(".")[0] for c in declared}
            assert not exposed & {"tenant", "tenant_id", "access_token"} or (
                attr in ("add_columns", "edit_columns") and exposed & {"access_token"}
                and not exposed & {"tenant", "tenant_id"}
            ), f"{type(view).__name__}.{attr} exposes {exposed & {'tenant', 'tenant_id', 'access_token'}}"
        for attr in ("list_columns", "search_columns"):
            assert attr in _declared(view), f"{type(view).__name__} must declare {attr} explicitly"


def _declared(view) -> set[str]:
    names = set()
    for klass in type(view).__mro__:
        if klass.__module__.startswith("app."):
            names |= set(vars(klass))
    return names


def _view_names():
    from app import create_app  # noqa: F401  (names only; the app fixture builds the real one)

    return [
        "CategoryView", "ProductView", "CampaignView", "CustomerView", "ConversationView",
        "MessageView", "OrderView", "OrderItemView", "OrderEventView", "ChannelView", "TemplateView",
        "AutomationRuleView", "BusinessProfileView", "KnowledgeDocumentView", "TeamView",
        "TenantSettingsView", "TenantsView", "CannedReplyView", "ConversationNoteView",
        "AiPromiseView",
    ]


def test_view_list_matches_registry(app):
    assert sorted(view_ids(app)) == sorted(_view_names())


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("view_name", _view_names())
def test_view_refuses_other_tenant(app, world, browser, views, persona, view_name):
    view = views[view_name]
    model = model_of(view)
    b_id = world.b[ROW_KEY[model]]
    base = view.route_base
    strict_read = can(app, persona, view, "can_read")
    strict_write = can(app, persona, view, "can_write")
    before = snapshot(app, model, b_id)
    client = browser(persona)

    # list: no B rows
    resp = client.get(f"{base}/list/")
    if resp.status_code == 200:
        assert not leaks(resp.get_data(as_text=True), "B")
    # show / edit / delete / actions with B's id
    for path in ("show", "edit"):
        if path in _routes(view):
            resp = client.get(f"{base}/{path}/{b_id}")
            assert_refused(resp, strict_read if path == "show" else strict_write)
    if "edit" in _routes(view):
        resp = client.post(f"{base}/edit/{b_id}", data={"name": "HACKED", "notes": "HACKED"})
        assert_refused(resp, strict_write)
    if "delete" in _routes(view):
        resp = client.post(f"{base}/delete/{b_id}")
        assert_refused(resp, strict_write)
    rules = {r.rule for r in app.url_map.iter_rules()}
    for action in getattr(view, "actions", {}) or {}:
        # a missing route would also answer 404: make sure the refusal is the tenant check
        assert f"{base}/action_post" in rules and f"{base}/action/<string:name>/<pk>" in rules
        resp = client.post(f"{base}/action/{action}/{b_id}")
        assert_refused(resp, strict_write)
        resp = client.post(f"{base}/action_post", data={"action": action, "rowid": [b_id]})
        assert_refused(resp, strict_write)
    # every other route of the view that takes a row id (custom ones included)
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] != type(view).__name__ or "<pk>" not in rule.rule:
            continue
        if "<string:name>" in rule.rule or "/download/" in rule.rule:
            continue
        path = rule.rule.replace("<pk>", str(b_id))
        write = bool({"POST"} & set(rule.methods))
        if "GET" in rule.methods:
            resp = client.get(path)
            if "/delete/" in rule.rule and resp.status_code == 302:
                pass  # with CSRFProtect on, FAB refuses a GET mutation before any lookup
            else:
                assert_refused(resp, strict_read)
        if write:
            assert_refused(client.post(path, data={"text": "HACKED"}), strict_write)
    assert snapshot(app, model, b_id) == before, "tenant B's row changed"


def _routes(view):
    """The CRUD routes a view actually exposes."""
    names = {"show", "edit", "delete", "add", "list"}
    if view.include_route_methods:
        names &= set(view.include_route_methods)
    return names - set(view.exclude_route_methods or ())


@pytest.mark.parametrize("view_name", _view_names())
def test_forms_and_search_offer_no_foreign_rows(app, world, browser, views, view_name):
    """Add/edit dropdowns and search filters list only the active tenant's rows."""
    view = views[view_name]
    model = model_of(view)
    client = browser("owner_a")
    routes = _routes(view)
    pages = [f"{view.route_base}/list/"]
    if "add" in routes:
        pages.append(f"{view.route_base}/add")
    if "edit" in routes:
        pages.append(f"{view.route_base}/edit/{world.a[ROW_KEY[model]]}")
    for page in pages:
        resp = client.get(page)
        if resp.status_code in (302, 403):
            continue  # the owner has no access to this view at all
        assert resp.status_code == 200, (page, resp.status_code)
        html = resp.get_data(as_text=True)
        assert not leaks(html, "B", "C"), f"{page} shows another tenant's rows"
    # search filters on relation columns with B's related ids find nothing of A's or B's
    for col in view.search_columns or []:
        if view.datamodel.is_relation(col):
            related = view.datamodel.get_related_model(col)
            if related in ROW_KEY and ROW_KEY[related] in world.b.ids:
                resp = client.get(f"{view.route_base}/list/?_flt_0_{col}={world.b[ROW_KEY[related]]}")
                if resp.status_code == 200:
                    assert not leaks(resp.get_data(as_text=True), "B")


# ---------------------------------------------------------------------------------------- API

def _api_names():
    return [
        "ConversationApi", "MessageApi", "CustomerApi", "ProductApi", "CategoryApi", "OrderApi",
        "OrderItemApi", "CampaignApi", "TemplateApi", "AutomationRuleApi", "ChannelApi",
        "BusinessProfileApi", "KnowledgeDocumentApi", "AiPromiseApi",
    ]


def test_api_list_matches_registry(app):
    assert sorted(type(v).__name__ for v in registered(app, ModelRestApi)) == sorted(_api_names())


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("api_name", _api_names())
def test_api_refuses_other_tenant(app, world, api, apis, persona, api_name):
    view = apis[api_name]
    model = model_of(view)
    b_id = world.b[ROW_KEY[model]]
    a_id = world.a[ROW_KEY[model]]
    base = f"/api/v1/{view.resource_name}"
    client = api(persona)
    strict = can(app, persona, view, "can_read")
    before = snapshot(app, model, b_id)

    resp = client.get(f"{base}/{b_id}")
    assert resp.status_code == (404 if strict else 403), resp.get_data(as_text=True)
    resp = client.get(f"{base}/")
    if strict:
        assert resp.status_code == 200
        ids = set(resp.json["ids"])
        assert b_id not in ids or model is m.BusinessProfile and b_id == a_id
        assert not leaks(resp.get_data(as_text=True), "B")
        info = client.get(f"{base}/_info")
        assert info.status_code == 200
        assert not leaks(info.get_data(as_text=True), "B", "C")
    if "put" in _api_routes(view):
        body = _valid_edit(view)
        if strict:  # the same body on our own row works, so a 404 on B's means "not found"
            own = client.put(f"{base}/{a_id}", json=body)
            assert own.status_code == 200, (api_name, own.get_data(as_text=True))
        resp = client.put(f"{base}/{b_id}", json=body)
        assert resp.status_code == (404 if strict else 403), resp.status_code
    if "delete" in _api_routes(view):
        resp = client.delete(f"{base}/{b_id}")
        assert resp.status_code == (404 if strict else 403)
    assert snapshot(app, model, b_id) == before


def _valid_edit(view) -> dict:
    """One valid scalar change from the API's edit columns."""
    import enum

    from sqlalchemy import Boolean, Integer, String, Text

    for col in view.edit_columns:
        if view.datamodel.is_relation(col):
            continue
        column = view.datamodel.obj.__table__.columns[col]
        enum_class = getattr(column.type, "enum_class", None)
        if enum_class is not None and issubclass(enum_class, enum.Enum):
            return {col: list(enum_class)[0].value}
        if isinstance(column.type, Boolean):
            return {col: True}
        if isinstance(column.type, Integer):
            return {col: 1}
        if isinstance(column.type, (String, Text)) and col not in ("external_id", "sku"):
            return {col: "Edited"}
    raise AssertionError(f"{type(view).__name__} has no scalar edit column")


def _api_routes(view):
    return {n for n in ("get", "get_list", "info", "post", "put", "delete")
            if not view.include_route_methods or n in view.include_route_methods}


@pytest.mark.parametrize("api_name", _api_names())
def test_api_post_with_foreign_related_id_writes_nothing(app, world, api, apis, api_name):
    """POST naming tenant B's related row is refused (404/422) and nothing is written."""
    view = apis[api_name]
    if "post" not in _api_routes(view):
        pytest.skip("read-only resource")
    client = api("owner_a")
    rel_cols = [c for c in view.add_columns if view.datamodel.is_relation(c)]
    model = model_of(view)
    for col in rel_cols:
        related = view.datamodel.get_related_model(col)
        if related not in ROW_KEY:
            continue
        with app.app_context():
            count_before = db.session.query(model).count()
            db.session.remove()
        foreign = world.b[ROW_KEY[related]]
        value = [foreign] if view.datamodel.is_relation_many_to_many(col) else foreign
        resp = client.post(f"/api/v1/{view.resource_name}/", json={col: value, **_minimal(model)})
        assert resp.status_code in (404, 422), (col, resp.status_code, resp.get_data(as_text=True))
        if resp.status_code == 422:  # refused for the foreign id, not some other field
            assert list(resp.json["message"]) == [col], resp.json
        with app.app_context():
            assert db.session.query(model).count() == count_before
            db.session.remove()


def _minimal(model):
    """Valid scalar fields so only the foreign id can be the reason for refusal."""
    return {
        m.Order: {"notes": "x"},
        m.OrderItem: {"quantity": 1},
        m.Conversation: {},
        m.Campaign: {"name": "New campaign"},
        m.AutomationRule: {"name": "New rule"},
        m.Product: {"sku": "NEW-1", "name": "New", "price_minor": 100},
    }.get(model, {})


def test_orm_guard_scopes_unfiltered_queries(app, world):
    """Second layer: an ORM query that forgot its tenant filter still sees only the scope."""
    from flask import g
    from sqlalchemy import select

    from app.security.tenancy import unguarded

    with app.test_request_context("/"):
        g.tenant_scope = [world.a.tenant_id]
        names = set(db.session.scalars(select(m.Product.name)).all())
        assert names == {"Prod-A"}
        # relationship loads are scoped too
        conv = db.session.scalars(select(m.Conversation)).one()
        assert [msg.text for msg in conv.messages] == ["Msg-A"]
        with unguarded():
            assert {"Prod-A", "Prod-B", "Prod-C"} <= set(db.session.scalars(select(m.Product.name)))
        g.tenant_scope = []  # no tenant resolved: nothing at all
        assert db.session.scalars(select(m.Product)).all() == []
        db.session.remove()
    with app.app_context():  # jobs and CLI have no request scope and filter explicitly
        assert db.session.query(m.Product).count() == 3
        db.session.remove()
