"""The one tenant-scoped mixin every ModelView and ModelRestApi goes through.

It declares the base filter (`tenant_id IN scope`, empty scope = no rows), scopes every related
dropdown / search filter / `_info` list to the active tenant, stamps `tenant_id` on the server in
pre_add/pre_update and refuses related rows of another tenant, and re-checks the tenant on
actions (FAB's `action`/`action_post` load rows without base filters). Subclasses only declare.
"""
from __future__ import annotations

import re

import prison
from flask import abort, flash, jsonify, redirect, request
from flask_appbuilder import ModelRestApi, ModelView, expose
from flask_appbuilder.exceptions import ApplyFilterException
from flask_appbuilder.models.sqla.filters import FilterInFunction, set_value_to_type
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError, StatementError

from app.extensions import db
from app.models import MAX_ID, Tenant, TenantMembership, TenantMixin
from app.security import tenancy
from app.security.permissions import (
    API_METHOD_PERMISSIONS,
    CAN_WRITE,
    VIEW_METHOD_PERMISSIONS,
)
from app.views.formatting import datetime_formatters


class CrossTenantReference(ValueError):
    """A related row named in a form or payload belongs to another tenant (or doesn't exist)."""


def member_user_ids() -> list[int]:
    """Users with a seat in the active tenant (for assignee dropdowns)."""
    ids = tenancy.scope_ids()
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(TenantMembership.user_id).where(TenantMembership.tenant_id.in_(ids))
        ).all()
    )


def _rel_filter(model) -> list | None:
    if model is Tenant:
        return [["id", FilterInFunction, tenancy.scope_ids]]
    if isinstance(model, type) and issubclass(model, TenantMixin):
        return [["tenant_id", FilterInFunction, tenancy.scope_ids]]
    if model is User or (isinstance(model, type) and issubclass(model, User)):
        return [["id", FilterInFunction, member_user_ids]]
    return None


def scoped_rel_fields(datamodel, columns) -> dict:
    """{relation column: [tenant filter]} for every relation among `columns`."""
    fields = {}
    for col in columns or []:
        if "." in col or not (datamodel.is_relation(col)):
            continue
        flt = _rel_filter(datamodel.get_related_model(col))
        if flt:
            fields[col] = flt
    return fields


def check_related_tenants(item) -> None:
    """Refuse any loaded relation of `item` that points outside the item's tenant."""
    mapper = type(item).__mapper__
    for rel in mapper.relationships:
        if rel.key == "tenant":
            continue
        value = getattr(item, rel.key, None)
        values = value if isinstance(value, (list, set, tuple)) else [value]
        for related in values:
            if related is None:
                continue
            if isinstance(related, TenantMixin) and related.tenant_id != item.tenant_id:
                raise CrossTenantReference(f"{rel.key}: not found")
            if isinstance(related, User) and rel.key == "assignee":
                if related.id not in member_user_ids():
                    raise CrossTenantReference(f"{rel.key}: not found")


def stamp_tenant(item) -> None:
    """Set the row's tenant from the request scope (never from the client)."""
    tenant_id = tenancy.active_tenant_id()
    if tenant_id is None:
        abort(404)
    if getattr(item, "tenant_id", None) not in (None, tenant_id):
        abort(404)
    item.tenant_id = tenant_id
    check_related_tenants(item)


class TenantScopedMixin:
    """Shared declarations; see the module docstring."""

    base_filters = [["tenant_id", FilterInFunction, tenancy.scope_ids]]

    def before_save(self, item, created: bool) -> None:
        """Domain rules for a row about to be written (subclasses override; raise to refuse)."""

    def _prepare(self, item, created: bool) -> None:
        # A refused row must not linger in the session: relationship backrefs may have
        # cascaded it in, and a later flush would write it half-checked.
        try:
            stamp_tenant(item)
            self.before_save(item, created)
        except Exception:
            db.session.rollback()
            raise

    def before_delete(self, item) -> None:
        """Domain rules for a row about to be deleted (subclasses override; raise to refuse)."""

    def pre_delete(self, item):
        self.before_delete(item)

    def pre_add(self, item):
        self._prepare(item, created=True)

    def pre_update(self, item):
        self._prepare(item, created=False)

    def _scope_relations(self):
        cols = set(self.add_columns or []) | set(self.edit_columns or [])
        cols |= set(getattr(self, "search_columns", None) or [])
        return scoped_rel_fields(self.datamodel, cols)


# PostgreSQL's refusals of a value: any data exception (class 22: out of range, invalid text
# for the type), or no operator comparing the column with it (a number for a boolean).
REFUSED_SQLSTATES = ("22", "42883", "42804")


def _value_refused(exc: Exception) -> bool:
    """Whether the database (or the column's own type) refused a value the caller sent: an
    id or page past the column's range, a kind no enum has, a number for a yes/no column."""
    if isinstance(exc, ApplyFilterException):  # a relation filter's lookup of its row failed
        return _value_refused(exc.__context__)
    if isinstance(exc, (OverflowError, DataError)):
        return True
    if isinstance(exc, DBAPIError):
        return (getattr(exc.orig, "sqlstate", None) or "").startswith(REFUSED_SQLSTATES)
    return isinstance(exc, StatementError)  # the column type's own check, before any SQL ran


_PAGE_FILTER = re.compile(r"_flt_[0-9]+_(.+)")


def unreadable_filter_value(datamodel, filters) -> bool:
    """Whether a (column, value) filter gives a number, date or time column a value that is
    none: FAB drops such a filter ("created after notadate" would list every row), so the
    caller is told instead. An empty value is no filter, as FAB treats it."""
    for column, value in filters:
        if value in ("", None) or not isinstance(column, str) or column not in datamodel.list_columns:
            continue
        if not any(check(column) for check in (datamodel.is_integer, datamodel.is_float,
                                                 datamodel.is_date, datamodel.is_datetime)):
            continue
        if isinstance(value, bool) or set_value_to_type(datamodel, column, value) is None:
            return True
    return False


class TenantModelView(TenantScopedMixin, ModelView):
    """A CRUD view over one tenant table."""

    method_permission_name = VIEW_METHOD_PERMISSIONS
    # {action function name: permission} for actions that need more than can_write.
    action_permissions: dict[str, str] = {}
    page_size = 25
    # FAB's /download/<filename> serves any file of UPLOAD_FOLDER to anyone: we have no uploads.
    exclude_route_methods = {"download"}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Actions are writes: they need can_write on the view's resource, like edit.
        self.method_permission_name = {
            **self.method_permission_name,
            **{a.func.__name__: CAN_WRITE for a in self.actions.values()},
            **self.action_permissions,
        }
        shown = set(self.list_columns or []) | set(self.show_columns or [])
        self.formatters_columns = {
            **datetime_formatters(self.datamodel, shown), **(self.formatters_columns or {})
        }

    def _init_forms(self):
        rel = self._scope_relations()
        self.add_form_query_rel_fields = {**rel, **(self.add_form_query_rel_fields or {})}
        self.edit_form_query_rel_fields = {**rel, **(self.edit_form_query_rel_fields or {})}
        self.search_form_query_rel_fields = {**rel, **(self.search_form_query_rel_fields or {})}
        super()._init_forms()

    def _list(self, **kwargs):
        """A filter, page or page size from the query string that the database can't use (a
        kind no enum has, text for a yes/no column, a negative page, a filter index the page
        doesn't have) is the caller's 400, not the error page. FAB reads a page or page size
        with a bare int(), so one that is not a whole number is refused here first."""
        for arg, value in request.args.items():
            if arg.startswith(("page_", "psize_")) and not re.fullmatch(r"-?[0-9]{1,30}", value or ""):
                abort(400, description="This list can't use that filter, page or page size.")
        typed = [(m.group(1), value) for arg, value in request.args.items(multi=True)
                 if (m := _PAGE_FILTER.fullmatch(arg))]
        if unreadable_filter_value(self.datamodel, typed):
            abort(400, description="A filter's value is not a number or date this list can use.")
        try:
            return super()._list(**kwargs)
        except (SQLAlchemyError, OverflowError, ApplyFilterException, IndexError) as exc:
            if not (isinstance(exc, IndexError) or _value_refused(exc)):
                raise
            db.session.rollback()
            abort(400, description="This list can't use that filter, page or page size.")

    def _scoped_get(self, pk):
        item = self.datamodel.get(self._deserialize_pk_if_composite(pk), self._base_filters)
        if item is None:
            abort(404)
        return item

    def _refuse_unpermitted_action(self, name) -> None:
        """403 for an action the user's role lacks (FAB would only flash and redirect)."""
        if name not in self.actions:
            abort(404)
        if not self.appbuilder.sm.has_access(self.get_action_permission_name(name),
                                             self.class_permission_name):
            abort(403)

    # Overriding a routed method drops FAB's route, so the @expose lines are repeated here.
    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        """FAB loads the row without base filters; refuse another tenant's id first."""
        self._scoped_get(pk)
        self._refuse_unpermitted_action(name)
        return super().action(name, pk)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        for pk in request.form.getlist("rowid"):
            self._scoped_get(pk)
        self._refuse_unpermitted_action(request.form.get("action"))
        return super().action_post()

    def bulk_update(self, items, change, *args):
        """Apply a service `change(item, *args)` to one row or many, then back to the list."""
        rows = items if isinstance(items, list) else [items]
        for row in rows:
            if row is None or row.tenant_id not in tenancy.scope_ids():
                abort(404)  # second check: the action's rows were loaded without base filters
        changed = change(rows, *args)
        flash(f"{changed} of {len(rows)} updated", "success")
        self.update_redirect()
        return redirect(self.get_redirect())


def refuse_ids_past_range():
    """Before any view: an id in the URL (`<pk>`, `<int:...>`, `..._id`) that no 32-bit id
    column can hold is a 404 here, where every view would otherwise hand it to the database
    and answer 500 (PostgreSQL: "integer out of range")."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and (name == "pk" or name.endswith("_id")) and value.isascii() \
                and value.lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ID:
            if request.path.startswith("/api/"):
                return jsonify(message="Not found"), 404
            abort(404)
    return None


def _unreadable_rison():
    """400 for a `q` the rison parser fails on with something other than its own error: FAB's
    decorator turns only ParserException into a 400, and prison also raises RecursionError
    ("(((") or TypeError ("(a:"), which would be a 500."""
    raw = request.args.get("q")
    if not raw or "Authorization" not in request.headers:  # no credentials: FAB's 401 first
        return None
    try:
        prison.loads(raw)
    except prison.decoder.ParserException:
        return None  # FAB's own 400 (or its JSON fallback) answers it
    except Exception:
        return jsonify(message="Not a valid rison argument"), 400
    return None


class TenantModelApi(TenantScopedMixin, ModelRestApi):
    """A REST resource over one tenant table: rows land in the caller's active tenant."""

    method_permission_name = API_METHOD_PERMISSIONS
    allow_browser_login = False

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.before_request(_unreadable_rison)
        return blueprint

    def get_list_headless(self, **kwargs):
        """A filter or page value the database can't compare is the caller's 400, not FAB's
        500 "Fatal error", and so is a number, date or time filter whose value is none (FAB
        would drop the filter and answer every row)."""
        filters = (kwargs.get("rison") or {}).get("filters") if isinstance(kwargs.get("rison"), dict) else None
        typed = [(f.get("col"), f.get("value")) for f in filters or () if isinstance(f, dict)]
        if unreadable_filter_value(self.datamodel, typed):
            return self.response_400(message="a filter value is not a number or date this resource can use")
        try:
            return super().get_list_headless(**kwargs)
        except (SQLAlchemyError, OverflowError, ApplyFilterException) as exc:
            if not _value_refused(exc):
                raise
            db.session.rollback()
            return self.response_400(message="a filter or page value this resource can't use")

    def get_headless(self, pk, **kwargs):
        """An id the id column can't hold names no row: 404."""
        try:
            return super().get_headless(pk, **kwargs)
        except (SQLAlchemyError, OverflowError) as exc:
            if not _value_refused(exc):
                raise
            db.session.rollback()
            return self.response_404()

    def _init_properties(self):
        super()._init_properties()
        rel = self._scope_relations()
        self.add_query_rel_fields = {**rel, **(self.add_query_rel_fields or {})}
        self.edit_query_rel_fields = {**rel, **(self.edit_query_rel_fields or {})}

    def _init_model_schemas(self):
        super()._init_model_schemas()
        # FAB marks enum fields required whenever NOT NULL, even with a default; a column
        # the model fills by default is optional on POST.
        table = self.datamodel.obj.__table__
        for name, schema_field in self.add_model_schema.fields.items():
            column = table.columns.get(name)
            if column is not None and column.default is not None:
                schema_field.required = False

    def _refuse_foreign_ids(self, columns):
        """422 naming the field when a related id isn't one of this tenant's rows."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return None
        scoped = scoped_rel_fields(self.datamodel, columns)
        for col in scoped:
            if col not in body or body[col] is None:
                continue
            ids = body[col] if isinstance(body[col], list) else [body[col]]
            model = self.datamodel.get_related_model(col)
            pk = model.__mapper__.primary_key[0]
            for value in ids:
                stmt = select(pk).where(pk == value)
                if issubclass(model, TenantMixin):
                    stmt = stmt.where(model.tenant_id.in_(tenancy.scope_ids()))
                else:
                    stmt = stmt.where(pk.in_(member_user_ids()))
                try:
                    found = db.session.execute(stmt).first()
                except Exception:
                    db.session.rollback()
                    found = None
                if found is None:
                    return self.response_422(message={col: [f"{value} not found"]})
        return None

    def _database_refusal(self, exc: SQLAlchemyError):
        """A constraint the database enforces (unique SKU...) is the client's 422, naming the
        fields the constraint covers; the database's own text is not echoed back."""
        db.session.rollback()
        detail = str(getattr(exc, "orig", exc)).splitlines()[0].lower()
        body = request.get_json(silent=True) or {}
        fields = [k for k in body if isinstance(k, str) and k.lower() in detail] or ["_schema"]
        problem = "already exists" if "unique" in detail or "duplicate" in detail else "is not allowed"
        return self.response_422(message={f: [f"This value {problem}"] for f in fields})

    def delete_headless(self, pk):
        """FAB's API runs pre_delete outside its error handling (a refusal would be a 500):
        the delete rules run here instead, a refusal is the client's 422."""
        item = self.datamodel.get(pk, self._base_filters)
        if item is not None:
            try:
                self.before_delete(item)
            except ValueError as exc:
                return self._domain_refusal(exc)
        return super().delete_headless(pk)

    def pre_delete(self, item):
        """Already done by delete_headless."""

    def _domain_refusal(self, exc: ValueError):
        """A rule a service enforces (e.g. an order that can't change) is the client's 422."""
        db.session.rollback()
        return self.response_422(message={"_schema": [str(exc)]})

    def _merge_update_item(self, model_item, data):
        """PUT works like PATCH: absent fields keep their values (write-only ones included)."""
        current = self.edit_model_schema.dump(model_item, many=False)
        for col in self.edit_columns:
            if col not in data and col in current:
                data[col] = current[col]
        return data

    def post_headless(self):
        if tenancy.active_tenant_id() is None:
            return self.response_404()
        refused = self._refuse_foreign_ids(self.add_columns)
        if refused:
            return refused
        try:
            return super().post_headless()
        except SQLAlchemyError as exc:  # FAB 5.3 re-raises these from add() as-is
            return self._database_refusal(exc)
        except ValueError as exc:  # domain rules from before_save
            return self._domain_refusal(exc)

    def put_headless(self, pk):
        refused = self._refuse_foreign_ids(self.edit_columns)
        if refused:
            return refused
        try:
            return super().put_headless(pk)
        except SQLAlchemyError as exc:
            return self._database_refusal(exc)
        except ValueError as exc:
            return self._domain_refusal(exc)
