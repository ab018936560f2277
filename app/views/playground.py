"""Playground page: chat with your own salesperson as a customer would."""
from flask import g, jsonify, request
from flask_appbuilder import BaseView, expose, has_access

from app.security import tenancy
from app.security.permissions import RESOURCE_CONVERSATIONS
from app.services import playground


class PlaygroundView(BaseView):
    route_base = "/playground"
    default_view = "index"
    class_permission_name = RESOURCE_CONVERSATIONS
    method_permission_name = {"index": "read", "messages": "read", "send": "write", "reset": "write"}

    @expose("/")
    @has_access
    def index(self):
        tenant_id = tenancy.require_active_tenant()
        try:
            channel = playground.channel_for(tenant_id)
        except playground.PlaygroundError as exc:
            return self.render_template("closer/playground.html", error=str(exc), channel=None)
        return self.render_template("closer/playground.html", error=None, channel=channel)

    @expose("/messages")
    @has_access
    def messages(self):
        tenant_id = tenancy.require_active_tenant()
        after = request.args.get("after", 0, type=int)
        return jsonify(messages=playground.transcript(tenant_id, g.user.id, after))

    @expose("/send", methods=["POST"])
    @has_access
    def send(self):
        tenant_id = tenancy.require_active_tenant()
        text = (request.get_json(silent=True) or {}).get("text") or request.form.get("text", "")
        try:
            playground.customer_writes(tenant_id, g.user, text)
        except playground.PlaygroundError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(ok=True)

    @expose("/reset", methods=["POST"])
    @has_access
    def reset(self):
        playground.start_over(tenancy.require_active_tenant(), g.user.id)
        return jsonify(ok=True)
