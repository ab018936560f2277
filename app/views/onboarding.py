"""The onboarding wizard at /onboarding/: profile, documents, first campaign, a channel.

Every step can be saved or skipped and is shown with the wizard's progress; /onboarding/
resumes at the first step still pending. Owners (and agency admins, Admin) only.
"""
from __future__ import annotations

from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from werkzeug.exceptions import RequestEntityTooLarge

from app.models import ONBOARDING_STEPS, StepStatus
from app.security import tenancy
from app.security.permissions import RESOURCE_ONBOARDING
from app.services import documents, onboarding
from app.services.document_files import DocumentError
from app.views.onboarding_forms import CampaignForm, DocumentForm, ProfileForm

INTEGRATION_LINKS = {
    "integrations": "/integrations/",
    "facebook": "/integrations/facebook/connect",
    "whatsapp": "/integrations/whatsapp/connect",
}


class OnboardingView(BaseView):
    route_base = "/onboarding"
    default_view = "index"
    class_permission_name = RESOURCE_ONBOARDING
    method_permission_name = {
        "index": "read", "profile": "write", "documents": "write", "document_status": "read",
        "campaign": "write", "channel": "write", "skip": "write",
    }

    def create_blueprint(self, appbuilder, endpoint=None, static_folder=None):
        """A file over MAX_CONTENT_LENGTH is refused while the request is read (by CSRF
        protection, before the view runs): it still gets the wizard's own message."""
        blueprint = super().create_blueprint(appbuilder, endpoint, static_folder)
        blueprint.register_error_handler(RequestEntityTooLarge, self._too_large)
        return blueprint

    @staticmethod
    def _too_large(_error):
        flash(documents.too_large_message(), "danger")
        return redirect(url_for("OnboardingView.documents"), code=303)

    def _page(self, step: str, tenant_id: int, **context):
        row = onboarding.progress(tenant_id)
        return self.render_template(
            f"closer/onboarding/{step}.html", step=step, steps=ONBOARDING_STEPS,
            titles=onboarding.STEP_TITLES, progress=row, percent=onboarding.percent_complete(row),
            **context)

    @expose("/")
    @has_access
    def index(self):
        tenant_id = tenancy.require_active_tenant()
        row = onboarding.progress(tenant_id)
        step = onboarding.next_step(row)
        if step is not None:
            return redirect(url_for(f"OnboardingView.{step}"))
        return self._page("finished", tenant_id, links=INTEGRATION_LINKS)

    @expose("/skip/<step>", methods=["POST"])
    @has_access
    def skip(self, step):
        tenant_id = tenancy.require_active_tenant()
        if step not in ONBOARDING_STEPS:
            abort(404)
        onboarding.mark(tenant_id, step, StepStatus.SKIPPED)
        return redirect(url_for("OnboardingView.index"))

    @expose("/profile", methods=["GET", "POST"])
    @has_access
    def profile(self):
        tenant_id = tenancy.require_active_tenant()
        form = ProfileForm(obj=onboarding.profile_of(tenant_id))
        if form.validate_on_submit():
            try:
                onboarding.save_profile(tenant_id, {k: form[k].data for k in onboarding.PROFILE_FIELDS})
            except onboarding.OnboardingError as exc:
                flash(str(exc), "danger")
            else:
                flash("Business profile saved: the salesperson uses it from the next reply", "success")
                return redirect(url_for("OnboardingView.index"))
        status = 400 if form.is_submitted() else 200
        return self._page("profile", tenant_id, form=form), status

    @expose("/documents", methods=["GET", "POST"])
    @has_access
    def documents(self):
        tenant_id = tenancy.require_active_tenant()
        form = DocumentForm()
        status = 200
        if request.method == "POST":
            status = self._upload(form, tenant_id)
            if status == 302:
                return redirect(url_for("OnboardingView.documents"))
        return self._page("documents", tenant_id, form=form,
                          uploads=documents.recent(tenant_id),
                          max_mb=documents.max_bytes() / (1024 * 1024)), status

    def _upload(self, form, tenant_id: int) -> int:
        """Store one upload; 302 when accepted, 400 with a flashed reason when refused."""
        try:
            files = request.files
        except RequestEntityTooLarge:
            flash(documents.too_large_message(), "danger")
            return 400
        if not form.validate_on_submit():
            flash("The form expired: reload the page and upload again", "danger")
            return 400
        storage = files.get("file")
        if storage is None or not storage.filename:
            flash("Choose a file to upload", "danger")
            return 400
        data = storage.stream.read(documents.max_bytes() + 1)
        try:
            item = documents.upload(tenant_id, g.user.id, storage.filename, data)
        except DocumentError as exc:
            flash(f"{storage.filename}: {exc}", "danger")
            return 400
        onboarding.mark(tenant_id, "documents", StepStatus.DONE)
        flash(f"{item.filename} uploaded: reading it now", "info")
        return 302

    @expose("/documents/<int:upload_id>/status")
    @has_access
    def document_status(self, upload_id):
        item = documents.get(tenancy.require_active_tenant(), upload_id)
        if item is None:
            abort(404)
        return jsonify(documents.status(item))

    @expose("/campaign", methods=["GET", "POST"])
    @has_access
    def campaign(self):
        tenant_id = tenancy.require_active_tenant()
        existing = onboarding.wizard_campaign(tenant_id)
        form = CampaignForm(obj=existing)
        products = onboarding.tenant_products(tenant_id)
        form.products.choices = [(p.id, f"{p.name} ({p.price()})") for p in products]
        if request.method == "GET" and existing is not None:
            form.products.data = [p.id for p in existing.products]
            form.target_platform.data = str(existing.target_platform)
        if form.validate_on_submit():
            try:
                onboarding.save_campaign(
                    tenant_id, name=form.name.data, target_platform=form.target_platform.data,
                    values={k: form[k].data for k in onboarding.CAMPAIGN_FIELDS},
                    product_ids=form.products.data or [], new_product=self._new_product(form))
            except onboarding.OnboardingError as exc:
                flash(str(exc), "danger")
            else:
                flash("Campaign saved and active", "success")
                return redirect(url_for("OnboardingView.index"))
        status = 400 if form.is_submitted() else 200
        return self._page("campaign", tenant_id, form=form), status

    @staticmethod
    def _new_product(form) -> onboarding.NewProduct | None:
        name = (form.new_product_name.data or "").strip()
        if not name:
            return None
        return onboarding.NewProduct(name=name, price=form.new_product_price.data,
                                     stock=form.new_product_stock.data or 0)

    @expose("/channel", methods=["GET", "POST"])
    @has_access
    def channel(self):
        tenant_id = tenancy.require_active_tenant()
        if request.method == "POST":  # CSRFProtect has checked the token already
            onboarding.mark(tenant_id, "channel", StepStatus.DONE)
            return redirect(url_for("OnboardingView.index"))
        return self._page("channel", tenant_id, links=INTEGRATION_LINKS)
