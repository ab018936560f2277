"""The inbox: a live conversation list and a conversation page with everything staff act on.

Pages render once; app/static/closer/inbox.js polls the JSON endpoints here for new
conversations, messages, ticks and payment states. Every conversation id is looked up in the
active tenant only: another tenant's id is a 404, whatever the endpoint.
"""
from __future__ import annotations

from flask import Response, abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select
from wtforms.validators import ValidationError

from app.extensions import db
from app.models import MAX_ID, Campaign, ConversationStatus, Platform, Tenant
from app.models.inbox import CannedReply, ConversationNote
from app.security import tenancy
from app.security.permissions import (
    CAN_READ,
    CAN_WRITE,
    RESOURCE_CANNED_REPLIES,
    RESOURCE_CONVERSATIONS,
)
from app.services import canned, inbox, inbox_list, media
from app.views.base import TenantModelView
from app.views.formatting import local_time

READS = ("index", "conversations", "show", "messages", "canned", "media")
WRITES = ("reply", "template", "takeover", "handback", "resume", "assign", "status", "note",
          "tag", "untag")
MEDIA_MAX_AGE = 24 * 3600
MEDIA_ERRORS = {
    "expired": "This attachment has expired or was removed on Meta's side.",
    "too_large": "This attachment is too large to show here.",
    "not_an_image": "This attachment is not an image we can show.",
    "unavailable": "This attachment can't be fetched from Meta right now.",
}


class InboxView(BaseView):
    route_base = "/inbox"
    default_view = "index"
    class_permission_name = RESOURCE_CONVERSATIONS
    method_permission_name = {**{m: CAN_READ for m in READS}, **{m: CAN_WRITE for m in WRITES}}

    def _conversation(self, pk):
        conv = inbox_list.conversation(tenancy.require_active_tenant(), pk)
        if conv is None:
            abort(404)
        return conv

    @expose("/")
    @has_access
    def index(self):
        tenant_id = tenancy.require_active_tenant()
        campaigns = db.session.scalars(select(Campaign).where(Campaign.tenant_id == tenant_id)
                                       .order_by(Campaign.name)).all()
        return self.render_template(
            "closer/inbox.html", campaigns=campaigns, team=inbox.teammates(tenant_id),
            timezone=db.session.get(Tenant, tenant_id).timezone,
            statuses=[s.value for s in ConversationStatus],
            platforms=[p.value for p in Platform if not p.name.isupper()])

    @expose("/conversations.json")
    @has_access
    def conversations(self):
        tenant_id = tenancy.require_active_tenant()
        try:
            filters = inbox_list.ListFilters.parse(request.args)
        except inbox.InboxError as exc:
            return jsonify(error=str(exc)), 400
        return jsonify(conversations=inbox_list.conversations(tenant_id, filters, g.user.id))

    @expose("/c/<pk>")
    @has_access
    def show(self, pk):
        conv = self._conversation(pk)
        inbox_list.mark_seen(conv)
        tenant = db.session.get(Tenant, conv.tenant_id)
        state = inbox_list.state(conv)
        templates = inbox.usable_templates(conv)
        return self.render_template(
            "closer/inbox_conversation.html", conv=conv, customer=conv.customer, state=state,
            orders=inbox_list.orders(conv), tags=inbox.tags_of(conv.customer),
            notes=conv.notes, team=inbox.teammates(conv.tenant_id), tenant=tenant,
            templates=[(t, inbox.variable_count(t.body)) for t in templates],
            canned=db.session.scalars(select(CannedReply).where(
                CannedReply.tenant_id == conv.tenant_id).order_by(CannedReply.shortcut)).all(),
            local_time=local_time)

    @expose("/c/<pk>/messages.json")
    @has_access
    def messages(self, pk):
        conv = self._conversation(pk)
        # within the id column's range: past every id there is nothing newer, before it all
        after = max(0, min(request.args.get("after", 0, type=int) or 0, MAX_ID))
        body = {"messages": inbox_list.thread(conv, after), "statuses": inbox_list.statuses(conv),
                "orders": inbox_list.orders(conv), "state": inbox_list.state(conv)}
        inbox_list.mark_seen(conv)
        return jsonify(body)

    @expose("/c/<pk>/canned/<int:canned_id>")
    @has_access
    def canned(self, pk, canned_id):
        conv = self._conversation(pk)
        reply = db.session.scalar(select(CannedReply).where(
            CannedReply.id == canned_id, CannedReply.tenant_id == conv.tenant_id))
        if reply is None:
            abort(404)
        return jsonify(text=canned.render(reply.body, conv, g.user.first_name or g.user.username))

    @expose("/media/<int:message_id>/<int:n>")
    @has_access
    def media(self, message_id, n):
        """A customer's image, fetched from Meta for this page (its CSP loads only this origin),
        or a WhatsApp file as a download.

        An image's type is the one its bytes proved; a file is octet-stream and an attachment,
        so nothing a customer sent is ever rendered as a page of ours. nosniff and a private
        cache keep a browser from guessing otherwise or a shared cache from keeping it. A
        failure says why, in the body and in X-Media-Error, which the page turns into a
        placeholder."""
        try:
            found = media.get(tenancy.require_active_tenant(), message_id, n)
        except media.NotFound:
            abort(404)
        except media.MediaError as exc:
            return _media_failure(exc)
        if isinstance(found, media.File):
            return _nosniff(Response(found.content, mimetype="application/octet-stream", headers={
                "Content-Disposition": f'attachment; filename="{found.filename}"',
                "Cache-Control": "private, no-store"}))
        return _nosniff(Response(found.content, mimetype=found.content_type, headers={
            "Content-Disposition": "inline", "Cache-Control": f"private, max-age={MEDIA_MAX_AGE}"}))

    # ------------------------------------------------------------------ actions (forms)
    def _act(self, pk, action, done: str):
        conv = self._conversation(pk)
        try:
            action(conv)
        except inbox.NotFound:
            db.session.rollback()
            abort(404)
        except inbox.InboxError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        else:
            flash(done, "success")
        return redirect(url_for(".show", pk=conv.id))

    @expose("/c/<pk>/reply", methods=["POST"])
    @has_access
    def reply(self, pk):
        return self._act(pk, lambda c: inbox.staff_reply(
            c, g.user.id, request.form.get("text", ""), take_over=request.form.get("take_over") == "1"),
            "Reply queued")

    @expose("/c/<pk>/template", methods=["POST"])
    @has_access
    def template(self, pk):
        return self._act(pk, lambda c: inbox.send_template(
            c, g.user.id, request.form.get("template_id"), request.form.getlist("var")),
            "Template queued")

    @expose("/c/<pk>/takeover", methods=["POST"])
    @has_access
    def takeover(self, pk):
        return self._act(pk, lambda c: inbox.take_over(c, g.user.id),
                         "You have the chat: the AI stays quiet until handed back")

    @expose("/c/<pk>/handback", methods=["POST"])
    @has_access
    def handback(self, pk):
        return self._act(pk, inbox.hand_back, "Handed back: the AI answers the next message")

    @expose("/c/<pk>/resume", methods=["POST"])
    @has_access
    def resume(self, pk):
        return self._act(pk, inbox.resume, "AI resumed")

    @expose("/c/<pk>/assign", methods=["POST"])
    @has_access
    def assign(self, pk):
        return self._act(pk, lambda c: inbox.assign(c, request.form.get("assignee_id")), "Assignment saved")

    @expose("/c/<pk>/status", methods=["POST"])
    @has_access
    def status(self, pk):
        return self._act(pk, lambda c: inbox.set_status(c, request.form.get("action", "")), "Status saved")

    @expose("/c/<pk>/note", methods=["POST"])
    @has_access
    def note(self, pk):
        return self._act(pk, lambda c: inbox.add_note(c, g.user.id, request.form.get("body", "")),
                         "Note added")

    @expose("/c/<pk>/tag", methods=["POST"])
    @has_access
    def tag(self, pk):
        return self._act(pk, lambda c: inbox.add_tag(c.customer, request.form.get("tag", "")), "Tag added")

    @expose("/c/<pk>/untag", methods=["POST"])
    @has_access
    def untag(self, pk):
        return self._act(pk, lambda c: inbox.remove_tag(c.customer, request.form.get("tag", "")),
                         "Tag removed")


def _media_failure(exc) -> Response:
    """Why a media can't be had, for a person (the body) and for the page's script (the header)."""
    return _nosniff(Response(MEDIA_ERRORS[exc.reason], mimetype="text/plain",
                             status=404 if exc.reason == "expired" else 502,
                             headers={"X-Media-Error": exc.reason, "Cache-Control": "private, no-store"}))


def _nosniff(resp: Response) -> Response:
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _placeholders(form, field) -> None:
    try:
        canned.check(field.data or "")
    except canned.CannedError as exc:
        raise ValidationError(str(exc)) from None


class CannedReplyView(TenantModelView):
    """Ready answers staff insert in one click from the conversation page."""

    datamodel = SQLAInterface(CannedReply)
    class_permission_name = RESOURCE_CANNED_REPLIES
    list_columns = ["shortcut", "body"]
    show_columns = add_columns = edit_columns = ["shortcut", "body"]
    search_columns = ["shortcut", "body"]
    validators_columns = {"body": [_placeholders]}
    description_columns = {
        "body": "Placeholders: {customer_name} {first_name} {business_name} {agent_name} "
                "{order_number} {order_total} {payment_link} {price:SKU} {product:SKU}",
    }
    base_order = ("shortcut", "asc")


class ConversationNoteView(TenantModelView):
    """Staff notes, readable as a list (written from the conversation page)."""

    datamodel = SQLAInterface(ConversationNote)
    class_permission_name = RESOURCE_CONVERSATIONS
    include_route_methods = {"list", "show"}
    list_columns = show_columns = ["conversation", "author", "body", "created_at"]
    search_columns = ["body"]
    base_order = ("created_at", "desc")
