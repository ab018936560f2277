"""`/integrations/`: the channels of the active store with their health, and the ways to
connect more (Facebook Login, Instagram Login, a WhatsApp number).

Declarations and redirects only: every decision is in app.services.integrations. Owners
(and agency admins, Admins) may use it; it is the Channels resource's read and write.
"""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_appbuilder import BaseView, expose, has_access
from sqlalchemy import select

from app.extensions import db
from app.models import Channel, Platform
from app.security import tenancy
from app.security.permissions import CAN_READ, CAN_WRITE, RESOURCE_CHANNELS
from app.services.integrations import ConnectError, channels, facebook, health, instagram, whatsapp
from app.views.formatting import local_time

PENDING_SESSION_KEY = "connect_pending"


def channel_alarms() -> int:
    """For the navbar: the active store's channels needing attention, for those who can act."""
    tenant_id = tenancy.active_tenant_id()
    if tenant_id is None or not current_app.appbuilder.sm.has_access(f"can_{CAN_READ}", RESOURCE_CHANNELS):
        return 0
    return health.alarm_count(tenant_id)


class IntegrationsView(BaseView):
    route_base = "/integrations"
    default_view = "index"
    class_permission_name = RESOURCE_CHANNELS
    base_permissions = [f"can_{CAN_READ}", f"can_{CAN_WRITE}"]
    method_permission_name = {
        "index": CAN_READ, "facebook_connect": CAN_WRITE, "facebook_callback": CAN_WRITE,
        "facebook_choose": CAN_WRITE, "instagram_connect": CAN_WRITE,
        "instagram_callback": CAN_WRITE, "whatsapp_connect": CAN_WRITE, "resubscribe": CAN_WRITE,
        "disconnect": CAN_WRITE, "check": CAN_WRITE,
    }

    def _channel(self, channel_id: int) -> Channel:
        tenant_id = tenancy.require_active_tenant()
        channel = db.session.scalar(select(Channel).where(Channel.id == channel_id,
                                                          Channel.tenant_id == tenant_id))
        if channel is None:
            abort(404)
        return channel

    def _done(self, outcome, tenant_id: int):
        tenancy.set_active_tenant(tenant_id)
        if outcome.connected:
            flash(f"Connected: {', '.join(outcome.connected)}", "success")
        for note in outcome.notes:
            flash(note, "warning")
        return redirect(url_for("IntegrationsView.index"))

    def _refused(self, exc: Exception):
        flash(str(exc), "danger")
        return redirect(url_for("IntegrationsView.index"))

    @expose("/")
    @has_access
    def index(self):
        tenant_id = tenancy.require_active_tenant()
        return self.render_template("closer/integrations.html", channels=health.overview(tenant_id),
                                    local_time=local_time)

    # ------------------------------------------------------------------ Facebook Login

    @expose("/facebook/connect")
    @has_access
    def facebook_connect(self):
        try:
            return redirect(facebook.begin(tenancy.require_active_tenant(), g.user.id))
        except ConnectError as exc:
            return self._refused(exc)

    @expose("/facebook/callback")
    @has_access
    def facebook_callback(self):
        try:
            tenant_id, outcome = facebook.finish(request.args, g.user.id, g.allowed_tenant_ids)
        except ConnectError as exc:
            return self._refused(exc)
        if outcome.pending:
            session[PENDING_SESSION_KEY] = outcome.pending
            tenancy.set_active_tenant(tenant_id)
            return redirect(url_for("IntegrationsView.facebook_choose"))
        return self._done(outcome, tenant_id)

    @expose("/facebook/choose", methods=["GET", "POST"])
    @has_access
    def facebook_choose(self):
        key = session.get(PENDING_SESSION_KEY)
        try:
            tenant_id = facebook.pending_tenant(key, g.user.id)
            if tenant_id not in g.allowed_tenant_ids:
                raise ConnectError("You no longer have access to that store: nothing was connected.")
            if request.method == "POST":
                outcome = facebook.choose(key, request.form.get("page_id", ""), tenant_id, g.user.id)
                session.pop(PENDING_SESSION_KEY, None)
                return self._done(outcome, tenant_id)
            pages = facebook.pending_pages(key, tenant_id, g.user.id)
        except ConnectError as exc:
            return self._refused(exc)
        return self.render_template("closer/integrations_choose.html", pages=pages)

    # ------------------------------------------------------------------ Instagram Login

    @expose("/instagram/connect")
    @has_access
    def instagram_connect(self):
        try:
            return redirect(instagram.begin(tenancy.require_active_tenant(), g.user.id))
        except ConnectError as exc:
            return self._refused(exc)

    @expose("/instagram/callback")
    @has_access
    def instagram_callback(self):
        try:
            tenant_id, outcome = instagram.finish(request.args, g.user.id, g.allowed_tenant_ids)
        except ConnectError as exc:
            return self._refused(exc)
        return self._done(outcome, tenant_id)

    # ------------------------------------------------------------------ WhatsApp

    @expose("/whatsapp/connect", methods=["GET", "POST"])
    @has_access
    def whatsapp_connect(self):
        tenant_id = tenancy.require_active_tenant()
        form = {"waba_id": request.form.get("waba_id", ""),
                "phone_number_id": request.form.get("phone_number_id", "")}
        if request.method == "POST":
            try:
                done = whatsapp.connect(tenant_id, g.user.id, form["waba_id"], form["phone_number_id"],
                                        request.form.get("access_token", ""))
            except ConnectError as exc:
                db.session.rollback()
                flash(str(exc), "danger")
            else:
                flash(f"Connected {done.channel.display_name}; {done.templates} approved template"
                      f"{'s' if done.templates != 1 else ''} fetched", "success")
                for note in done.notes:
                    flash(note, "warning")
                return redirect(url_for("IntegrationsView.index"))
        return self.render_template("closer/integrations_whatsapp.html", form=form)

    # ------------------------------------------------------------------ per channel

    @expose("/<int:channel_id>/resubscribe", methods=["POST"])
    @has_access
    def resubscribe(self, channel_id: int):
        channel = self._channel(channel_id)
        try:
            channels.resubscribe(channel)
        except ConnectError as exc:
            return self._refused(exc)
        flash(f"{channel.name}: Meta will send its messages to Closer again", "success")
        return redirect(url_for("IntegrationsView.index"))

    @expose("/<int:channel_id>/check", methods=["POST"])
    @has_access
    def check(self, channel_id: int):
        channel = self._channel(channel_id)
        if channel.platform != Platform.PLAYGROUND:
            health.check(channel.id)
        flash(f"{channel.name}: checked", "info")
        return redirect(url_for("IntegrationsView.index"))

    @expose("/<int:channel_id>/disconnect", methods=["POST"])
    @has_access
    def disconnect(self, channel_id: int):
        channel = self._channel(channel_id)
        warning = channels.disconnect(channel, g.user.username)
        flash(f"{channel.name} is disconnected: Closer no longer receives or sends its messages", "info")
        if warning:
            flash(warning, "warning")
        return redirect(url_for("IntegrationsView.index"))
