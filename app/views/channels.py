"""Channels (integrations): the access token is write-only — typed in, never shown back."""
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import inspect
from wtforms import PasswordField

from app.models import Channel
from app.security.permissions import RESOURCE_CHANNELS
from app.views.base import TenantModelApi, TenantModelView

PUBLIC = ["name", "platform", "external_id", "status", "last_error", "last_webhook_at",
          "connected_via", "display_name", "token_valid", "token_checked_at", "subscribed",
          "last_send_error", "last_send_error_at"]
TOKEN_HELP = "Page / Instagram / WhatsApp access token. Stored encrypted; leave blank to keep."


def keep_token_unless_given(item) -> None:
    """A blank token field on edit means "unchanged", not "erase"."""
    if item.access_token:
        return
    history = inspect(item).attrs.access_token.history
    if history.deleted and history.deleted[0]:
        item.access_token = history.deleted[0]


class ChannelView(TenantModelView):
    datamodel = SQLAInterface(Channel)
    class_permission_name = RESOURCE_CHANNELS
    list_columns = ["name", "platform", "external_id", "status", "last_webhook_at"]
    show_columns = PUBLIC + ["created_at"]
    add_columns = ["name", "platform", "external_id", "access_token"]
    edit_columns = ["name", "external_id", "status", "access_token"]
    search_columns = ["name", "platform", "external_id", "status"]
    label_columns = {"external_id": "Account ID", "access_token": "Access token"}
    description_columns = {
        "external_id": "Page id, Instagram account id or WhatsApp phone_number_id",
        "access_token": TOKEN_HELP,
    }
    add_form_extra_fields = edit_form_extra_fields = {
        "access_token": PasswordField(
            "Access token", description=TOKEN_HELP, widget=BS3PasswordFieldWidget()
        )
    }

    def before_save(self, item, created):
        keep_token_unless_given(item)


class ChannelApi(TenantModelApi):
    resource_name = "channels"
    datamodel = SQLAInterface(Channel)
    class_permission_name = RESOURCE_CHANNELS
    list_columns = show_columns = ["id", *PUBLIC]
    add_columns = ["name", "platform", "external_id", "access_token"]
    edit_columns = ["name", "external_id", "status", "access_token"]
    search_columns = ["name", "platform", "status"]

    def _init_model_schemas(self):
        super()._init_model_schemas()
        # Accept the token on write, never echo it in a response.
        for schema in (self.add_model_schema, self.edit_model_schema):
            schema.dump_fields.pop("access_token", None)

    def _database_refusal(self, exc):
        # (platform, external_id) is unique across tenants: say so without naming the owner.
        resp = super()._database_refusal(exc)
        if resp.status_code == 422 and "external_id" in (resp.json.get("message") or {}):
            return self.response_422(message={"external_id": [
                "This account is already connected to a Closer store"]})
        return resp

    def before_save(self, item, created):
        keep_token_unless_given(item)
