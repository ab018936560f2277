"""Leo, the analytics assistant: the JSON API (JWT), the panel's endpoint (session + CSRF) and
a page of its own. Both endpoints answer for the active tenant only; the service decides."""
from __future__ import annotations

from flask import jsonify, request
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.api import BaseApi, protect, safe
from flask_appbuilder.api import expose as api_expose

from app.security import tenancy
from app.security.permissions import CAN_READ, RESOURCE_LEO
from app.services import leo


def _ask():
    """(body, status) for the question in this request's JSON body."""
    tenant_id = tenancy.active_tenant_id()
    if tenant_id is None:
        return {"message": "Not found"}, 404
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or "question" not in body:
        return {"message": "send JSON with a \"question\""}, 400
    try:
        return leo.ask(tenant_id, body["question"]), 200
    except leo.LeoError as exc:
        return {"message": str(exc)}, 400


class LeoApi(BaseApi):
    """POST /api/v1/leo/ask {"question": "..."} -> {"answer": "...", "figures": {...}}."""

    resource_name = "leo"
    class_permission_name = RESOURCE_LEO
    method_permission_name = {"ask": CAN_READ}
    allow_browser_login = False
    openapi_spec_tag = "Leo"

    @api_expose("/ask", methods=["POST"])
    @protect()
    @safe
    def ask(self):
        body, status = _ask()
        return self.response(status, **body)


class LeoView(BaseView):
    """The panel posts here with the session cookie and the page's CSRF token."""

    route_base = "/leo"
    default_view = "index"
    class_permission_name = RESOURCE_LEO
    method_permission_name = {"index": CAN_READ, "ask": CAN_READ}

    @expose("/")
    @has_access
    def index(self):
        tenancy.require_active_tenant()
        return self.render_template("closer/leo.html")

    @expose("/ask", methods=["POST"])
    @has_access
    def ask(self):
        body, status = _ask()
        return jsonify(body), status
