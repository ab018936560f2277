"""Segments (filter customers, save the filter, tag them in bulk, export) and broadcasts."""
from __future__ import annotations

from flask import Response, abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_appbuilder.api import BaseApi, expose as api_expose, protect
from sqlalchemy import select

from app.extensions import db
from app.models import Campaign, Platform, Tenant
from app.money import to_major, to_minor
from app.security import tenancy
from app.security.permissions import RESOURCE_BROADCASTS, RESOURCE_SEGMENTS
from app.services import broadcasts, segments, templates

FILTER_FIELDS = ["platform", "campaign_id", "tag", "min_orders", "max_orders",
                 "seen_within_days", "not_seen_for_days"]


def _currency(tenant_id: int) -> str:
    return db.session.get(Tenant, tenant_id).currency


def _filters_from_form(tenant_id: int, data) -> segments.Filters:
    """Form fields as typed: spend in major units (the page), converted to minor units."""
    raw = {k: data.get(k) for k in FILTER_FIELDS}
    for field in ("min_spend", "max_spend"):
        text = (data.get(field) or "").strip()
        if text:
            try:
                raw[f"{field}_minor"] = to_minor(text, _currency(tenant_id))
            except ValueError as exc:
                raise segments.SegmentError(str(exc)) from None
    return segments.parse_filters(tenant_id, raw)


def _form_values(tenant_id: int, f: segments.Filters) -> dict:
    values = {k: ("" if v is None else v) for k, v in f.to_dict().items()}
    currency = _currency(tenant_id)
    for field in ("min_spend", "max_spend"):
        minor = getattr(f, f"{field}_minor")
        values[field] = "" if minor is None else str(to_major(minor, currency))
    return values


def _query_string(tenant_id: int, f: segments.Filters) -> dict:
    return {k: v for k, v in _form_values(tenant_id, f).items() if v != ""}


class SegmentsView(BaseView):
    route_base = "/segments"
    default_view = "index"
    class_permission_name = RESOURCE_SEGMENTS
    method_permission_name = {"index": "read", "show": "read", "export": "read",
                              "export_saved": "read", "save": "write", "delete": "write",
                              "tag": "write"}

    def _page(self, tenant_id: int, f: segments.Filters, segment=None, error: str | None = None):
        page = max(0, request.args.get("page", 0, type=int))
        total = segments.count(tenant_id, f)
        args = {} if segment else _query_string(tenant_id, f)

        def page_url(n: int) -> str:
            return url_for(request.endpoint, **(request.view_args or {}), **args, page=n)

        return self.render_template(
            "closer/segments.html", segment=segment, saved=segments.list_saved(tenant_id),
            filters=f, values=_form_values(tenant_id, f), query=_query_string(tenant_id, f),
            error=error, page=page, page_size=segments.PAGE_SIZE, total=total,
            prev_url=page_url(page - 1) if page > 0 else None,
            next_url=page_url(page + 1) if (page + 1) * segments.PAGE_SIZE < total else None,
            customers=segments.members(tenant_id, f, page=page),
            campaigns=db.session.scalars(select(Campaign).where(Campaign.tenant_id == tenant_id)
                                         .order_by(Campaign.name)).all(),
            platforms=[p.value for p in Platform], currency=_currency(tenant_id),
            can_broadcast=self.appbuilder.sm.has_access("can_write", RESOURCE_BROADCASTS),
            tags_of=segments.tags_of)

    @expose("/")
    @has_access
    def index(self):
        tenant_id = tenancy.require_active_tenant()
        try:
            f = _filters_from_form(tenant_id, request.args)
        except segments.SegmentError as exc:
            return self._page(tenant_id, segments.Filters(), error=str(exc)), 400
        return self._page(tenant_id, f)

    @expose("/<int:segment_id>")
    @has_access
    def show(self, segment_id: int):
        tenant_id = tenancy.require_active_tenant()
        segment = segments.get(tenant_id, segment_id)
        if segment is None:
            abort(404)
        return self._page(tenant_id, segments.filters_of(segment), segment=segment)

    @expose("/export.csv")
    @has_access
    def export(self):
        tenant_id = tenancy.require_active_tenant()
        try:
            f = _filters_from_form(tenant_id, request.args)
        except segments.SegmentError as exc:
            return Response(str(exc), status=400, mimetype="text/plain")
        return self._csv(tenant_id, f, "customers")

    @expose("/<int:segment_id>/export.csv")
    @has_access
    def export_saved(self, segment_id: int):
        tenant_id = tenancy.require_active_tenant()
        segment = segments.get(tenant_id, segment_id)
        if segment is None:
            return Response("no such segment", status=404, mimetype="text/plain")
        return self._csv(tenant_id, segments.filters_of(segment), f"segment-{segment.id}")

    @staticmethod
    def _csv(tenant_id: int, f: segments.Filters, name: str) -> Response:
        return Response(segments.export_csv(tenant_id, f), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})

    @expose("/save", methods=["POST"])
    @has_access
    def save(self):
        tenant_id = tenancy.require_active_tenant()
        segment_id = request.form.get("segment_id", type=int)
        if segment_id and segments.get(tenant_id, segment_id) is None:
            abort(404)
        try:
            f = _filters_from_form(tenant_id, request.form)
            segment = segments.save(tenant_id, request.form.get("name"), f, segment_id=segment_id)
        except segments.SegmentError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("SegmentsView.index", **request.form.to_dict(flat=True)
                                    | {"csrf_token": None, "name": None, "segment_id": None}))
        flash(f"Segment {segment.name} saved", "success")
        return redirect(url_for("SegmentsView.show", segment_id=segment.id))

    @expose("/<int:segment_id>/delete", methods=["POST"])
    @has_access
    def delete(self, segment_id: int):
        tenant_id = tenancy.require_active_tenant()
        if not segments.delete(tenant_id, segment_id):
            abort(404)
        flash("Segment deleted", "success")
        return redirect(url_for("SegmentsView.index"))

    @expose("/tag", methods=["POST"])
    @has_access
    def tag(self):
        """Tag (or untag) the ticked customers, or every customer matching the filters."""
        tenant_id = tenancy.require_active_tenant()
        back = request.form.get("back") or url_for("SegmentsView.index")
        if not back.startswith("/") or back.startswith("//"):
            back = url_for("SegmentsView.index")
        try:
            if request.form.get("scope") == "all":
                ids = segments.member_ids(tenant_id, _filters_from_form(tenant_id, request.form))
            else:
                ids = [int(i) for i in request.form.getlist("customer_id") if i.isdigit()]
            if not ids:
                raise segments.SegmentError("tick the customers to tag, or choose all matching")
            remove = request.form.get("remove") == "1"
            changed = segments.bulk_tag(tenant_id, ids, request.form.get("apply_tag"), remove=remove)
        except segments.SegmentError as exc:
            flash(str(exc), "danger")
            return redirect(back)
        flash(f"{'Untagged' if remove else 'Tagged'} {changed} customer{'s' if changed != 1 else ''}", "success")
        return redirect(back)


class BroadcastsView(BaseView):
    route_base = "/broadcasts"
    default_view = "index"
    class_permission_name = RESOURCE_BROADCASTS
    method_permission_name = {"index": "read", "show": "read", "new": "write", "cancel": "write"}

    @expose("/")
    @has_access
    def index(self):
        tenant_id = tenancy.require_active_tenant()
        items = broadcasts.list_all(tenant_id)
        return self.render_template("closer/broadcasts.html", broadcasts=items,
                                    counts={b.id: broadcasts.counts(b) for b in items})

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        tenant_id = tenancy.require_active_tenant()
        form = request.form if request.method == "POST" else request.args
        error = None
        if request.method == "POST":
            try:
                broadcast = broadcasts.create(
                    tenant_id, g.user.id, name=form.get("name"), segment_id=form.get("segment_id"),
                    channel_id=form.get("channel_id"), template_id=form.get("template_id"),
                    variables=form.getlist("variable"), per_second=form.get("per_second"))
            except (broadcasts.BroadcastError, segments.SegmentError) as exc:
                error = str(exc)
            else:
                flash(f"Broadcast {broadcast.name} is going out", "success")
                return redirect(url_for("BroadcastsView.show", broadcast_id=broadcast.id))
        segment = segments.get(tenant_id, form.get("segment_id", type=int) or 0)
        return self.render_template(
            "closer/broadcast_new.html", error=error, form=form, segment=segment,
            saved=segments.list_saved(tenant_id), channels=broadcasts.channels(tenant_id),
            templates=broadcasts.usable_templates(tenant_id),
            audience=segments.count(tenant_id, segments.filters_of(segment)) if segment else None,
            max_per_second=broadcasts.MAX_PER_SECOND, default_per_second=broadcasts.DEFAULT_PER_SECOND,
            placeholder_count=templates.placeholder_count,
        ), (400 if error else 200)

    @expose("/<int:broadcast_id>")
    @has_access
    def show(self, broadcast_id: int):
        tenant_id = tenancy.require_active_tenant()
        broadcast = broadcasts.get(tenant_id, broadcast_id)
        if broadcast is None:
            abort(404)
        return self.render_template("closer/broadcast_show.html", broadcast=broadcast,
                                    counts=broadcasts.counts(broadcast),
                                    recipients=broadcasts.recipients(broadcast))

    @expose("/<int:broadcast_id>/cancel", methods=["POST"])
    @has_access
    def cancel(self, broadcast_id: int):
        tenant_id = tenancy.require_active_tenant()
        if broadcasts.get(tenant_id, broadcast_id) is None:
            abort(404)
        if broadcasts.cancel(tenant_id, broadcast_id):
            flash("Broadcast cancelled: nobody else will receive it", "success")
        return redirect(url_for("BroadcastsView.show", broadcast_id=broadcast_id))


class SegmentApi(BaseApi):
    """GET /api/v1/segments/<id>/members: a saved segment's customers, for integrations."""

    resource_name = "segments"
    class_permission_name = RESOURCE_SEGMENTS
    method_permission_name = {"members": "read"}

    @api_expose("/<int:segment_id>/members", methods=["GET"])
    @protect()
    def members(self, segment_id: int):
        tenant_id = tenancy.require_active_tenant()
        segment = segments.get(tenant_id, segment_id)
        if segment is None:
            return self.response_404()
        f = segments.filters_of(segment)
        page = max(0, request.args.get("page", 0, type=int))
        rows = segments.members(tenant_id, f, page=page)
        return self.response(200, segment={"id": segment.id, "name": segment.name, "filters": f.to_dict()},
                             count=segments.count(tenant_id, f), page=page,
                             result=[{"id": c.id, "name": c.name, "platform": str(c.platform),
                                      "tags": segments.tags_of(c), "paid_orders": int(c.orders_paid or 0),
                                      "lifetime_spend_minor": int(c.spend_minor or 0),
                                      "opted_out": c.opted_out,
                                      "last_seen_at": c.last_seen_at.isoformat() if c.last_seen_at else None}
                                     for c in rows])
