"""Inbox: conversations with their messages (newest last) as a related view."""
from flask import flash, g, redirect, request, url_for
from flask_appbuilder import expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import ListWidget
from sqlalchemy import select

from app.extensions import db
from app.services import inbox
from app.views.formatting import local_time

from app.models import Conversation, ConversationStatus, Message
from app.services import bulk
from app.security.permissions import RESOURCE_CONVERSATIONS, RESOURCE_MESSAGES
from app.views.base import TenantModelApi, TenantModelView

MESSAGE_COLUMNS = ["created_at", "direction", "sender", "kind", "text", "status", "error"]
CONVERSATION_EDIT = ["campaign", "status", "mode", "assignee"]


class MessageView(TenantModelView):
    """Messages are a log: readable here, written only by the pipeline."""

    datamodel = SQLAInterface(Message)
    class_permission_name = RESOURCE_MESSAGES
    include_route_methods = {"list", "show"}
    list_columns = MESSAGE_COLUMNS
    show_columns = ["conversation", *MESSAGE_COLUMNS, "external_id", "sent_at",
                    "latency_ms", "prompt_tokens", "completion_tokens"]
    search_columns = ["direction", "sender", "kind", "text", "status"]
    base_order = ("created_at", "asc")
    page_size = 50


class ConversationRules:
    """A mode changed by editing (this admin's form, the API's PUT) or its mass actions takes
    over or hands back through the inbox's services, as the inbox's buttons do: the takeover
    bumps the reply job's compare-and-set counter, a hand-back answers what waited."""

    def before_save(self, item, created):
        if not created and inbox.mode_edited(item, actor_id()):
            g.conversation_handed_back = item.id

    def _edit(self, pk):
        """The admin's edit form. Without autoflush until the commit: the tenant checks before
        the save run queries, and a flush there would hide the mode's change from
        `mode_edited`."""
        with db.session.no_autoflush:
            return super()._edit(pk)

    def put_headless(self, pk):
        """The API's PUT, without autoflush until the commit (see `_edit`)."""
        with db.session.no_autoflush:
            return super().put_headless(pk)

    def post_update(self, item):
        if g.pop("conversation_handed_back", None) == item.id:
            inbox.answer_waiting(item)


def actor_id() -> int | None:
    """Who acts: the signed-in browser user, or the API caller of this request's token."""
    user = getattr(g, "user", None)
    if getattr(user, "is_authenticated", False):
        return user.id
    from flask_jwt_extended import current_user as jwt_user

    return getattr(jwt_user, "id", None)


class ConversationListWidget(ListWidget):
    """FAB's list with an "Inbox" button on every row: the inbox page is where staff work."""

    template = "closer/conversation_list_widget.html"


class ConversationView(ConversationRules, TenantModelView):
    datamodel = SQLAInterface(Conversation)
    class_permission_name = RESOURCE_CONVERSATIONS
    related_views = [MessageView]
    show_template = "closer/conversation_show.html"
    list_widget = ConversationListWidget
    list_columns = ["customer", "channel", "campaign", "status", "mode", "assignee",
                    "lead_score", "last_message_at"]
    show_columns = ["customer", "channel", "campaign", "status", "mode", "assignee",
                    "lead_score", "sentiment", "last_inbound_at", "last_message_at", "created_at"]
    add_columns = ["channel", "customer", *CONVERSATION_EDIT]
    edit_columns = CONVERSATION_EDIT
    search_columns = ["customer", "channel", "campaign", "status", "mode", "assignee", "lead_score"]
    base_order = ("last_message_at", "desc")


    @action("to_human", "Hand over to a person", "Stop automated replies in these chats?",
            "fa-user")
    def to_human(self, items):
        return self.bulk_update(items, inbox.take_over_all, g.user.id)

    @action("to_ai", "Hand back to the AI", "Let the AI salesperson answer these chats?",
            "fa-magic")
    def to_ai(self, items):
        return self.bulk_update(items, inbox.hand_back_all)

    @action("close", "Close", "Close these conversations?", "fa-archive")
    def close(self, items):
        return self.bulk_update(items, bulk.set_attribute, "status", ConversationStatus.CLOSED)


    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        """The conversation with its transcript (newest last) and a reply box."""
        conv = self._scoped_get(pk)
        widgets = self._show(pk)
        transcript = db.session.scalars(select(Message).where(
            Message.tenant_id == conv.tenant_id, Message.conversation_id == conv.id,
        ).order_by(Message.created_at, Message.id)).all()
        return self.render_template(
            self.show_template, pk=pk, title=self.show_title, widgets=widgets,
            related_views=self._related_views, conversation=conv, transcript=transcript,
            local_time=local_time,
        )

    @expose("/reply/<pk>", methods=["POST"])
    @has_access
    def reply(self, pk):
        """A person answers; the send happens in a job, never in this request."""
        conv = self._scoped_get(pk)
        try:
            inbox.staff_reply(conv, g.user.id, request.form.get("text", ""),
                                    take_over=request.form.get("keep_ai") != "1")
        except inbox.InboxError as exc:
            flash(str(exc), "danger")
        else:
            flash("Reply queued", "success")
        return redirect(url_for(".show", pk=conv.id))


class MessageApi(TenantModelApi):
    resource_name = "messages"
    datamodel = SQLAInterface(Message)
    class_permission_name = RESOURCE_MESSAGES
    include_route_methods = {"get", "get_list", "info"}
    list_columns = show_columns = ["id", "conversation.id", *MESSAGE_COLUMNS, "external_id"]
    search_columns = ["conversation", "direction", "sender", "status"]
    base_order = ("created_at", "asc")
