"""/api/v1/conversations: the conversations, with what staff see in the inbox, and the inbox's
actions for API clients (take over, hand back, pause, resume, assign, reply as a person).

Every action goes through the inbox's own services (app.services.inbox, app.services.takeover),
so an API takeover bumps the same compare-and-set counter the reply job checks and an API reply
goes out through the staff send path, as its caller. Ids are looked up in the active tenant
only: another tenant's conversation is a 404.
"""
from __future__ import annotations

from flask import request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect

from app.extensions import db
from app.models import Conversation
from app.security import tenancy
from app.security.permissions import API_METHOD_PERMISSIONS, CAN_WRITE, RESOURCE_CONVERSATIONS
from app.services import inbox, inbox_list
from app.views.base import TenantModelApi
from app.views.inbox import CONVERSATION_EDIT, ConversationRules, actor_id

ACTIONS = ("take_over", "hand_back", "pause", "resume", "assign", "reply", "template")


class ConversationApi(ConversationRules, TenantModelApi):
    resource_name = "conversations"
    datamodel = SQLAInterface(Conversation)
    class_permission_name = RESOURCE_CONVERSATIONS
    method_permission_name = {**API_METHOD_PERMISSIONS, **{name: CAN_WRITE for name in ACTIONS}}
    list_columns = show_columns = [
        "id", "customer.id", "customer.name", "channel.id", "campaign.id", "status", "mode",
        "assignee.id", "lead_score", "sentiment", "last_inbound_at", "last_message_at",
    ]
    add_columns = ["channel", "customer", *CONVERSATION_EDIT]
    edit_columns = CONVERSATION_EDIT
    search_columns = ["customer", "channel", "campaign", "status", "mode"]

    # ------------------------------------------------------------------ the inbox's state

    def pre_get(self, data):
        tenant_id = tenancy.active_tenant_id()
        data["result"]["state"] = inbox_list.states(tenant_id, [data["id"]]).get(data["id"])

    def pre_get_list(self, data):
        found = inbox_list.states(tenancy.active_tenant_id(), data["ids"])
        for row, pk in zip(data["result"], data["ids"]):
            row["state"] = found.get(pk)

    # ------------------------------------------------------------------ the inbox's actions

    @expose("/<int:pk>/takeover", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_WRITE)
    def take_over(self, pk: int):
        """People handle this chat until someone hands it back: the AI stays quiet, even
        about a message it is answering right now."""
        return self._act(pk, {}, lambda conv, body: inbox.take_over(conv, actor_id()))

    @expose("/<int:pk>/handback", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_WRITE)
    def hand_back(self, pk: int):
        """Back to the AI (pause lifted): it answers what the customer wrote since the last
        message sent to them."""
        return self._act(pk, {}, lambda conv, body: inbox.hand_back(conv))

    @expose("/<int:pk>/pause", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_WRITE)
    def pause(self, pk: int):
        """{"minutes": 1..10080}: the AI waits that long from now (replacing any pause)."""
        return self._act(pk, {"minutes": True},
                         lambda conv, body: inbox.pause(conv, body["minutes"], actor_id()))

    @expose("/<int:pk>/resume", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_WRITE)
    def resume(self, pk: int):
        """Lift a pause now (a chat in human mode stays with people)."""
        return self._act(pk, {}, lambda conv, body: inbox.resume(conv))

    @expose("/<int:pk>/assign", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_WRITE)
    def assign(self, pk: int):
        """{"assignee_id": a teammate's user id, or null to unassign}."""
        return self._act(pk, {"assignee_id": True}, self._assign)

    @expose("/<int:pk>/reply", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_WRITE)
    def reply(self, pk: int):
        """{"text": ..., "take_over": false}: a person's reply, sent by a job through the staff
        send path (window rules, HUMAN_AGENT tag), which pauses the AI (or, with take_over,
        hands the chat to people). 202 with the queued message."""
        return self._act(pk, {"text": True, "take_over": False}, lambda conv, body: inbox.staff_reply(
            conv, actor_id(), body["text"], take_over=body.get("take_over", False)), sent=True)

    @expose("/<int:pk>/template", methods=["POST"])
    @protect()
    @safe
    @permission_name(CAN_WRITE)
    def template(self, pk: int):
        """{"template_id": ..., "variables": [...], "take_over": false}: an approved WhatsApp
        template (the way to write after the 24-hour window), as a person."""
        return self._act(pk, {"template_id": True, "variables": False, "take_over": False},
                         lambda conv, body: inbox.send_template(
                             conv, actor_id(), body["template_id"], body.get("variables", []),
                             take_over=body.get("take_over", False)), sent=True)

    # ------------------------------------------------------------------ shared

    @staticmethod
    def _assign(conv, body):
        inbox.assign(conv, body["assignee_id"])

    def _act(self, pk: int, fields: dict[str, bool], change, *, sent: bool = False):
        """Run `change(conv, body)` on one of the active tenant's conversations. `fields`:
        the JSON body's keys, each required or not. 404 for any other id; 400 for a body that
        is not a JSON object; 422 naming the field for a missing, unknown or ill-typed value
        or a refusal of the inbox's rules (nothing changed)."""
        tenant_id = tenancy.active_tenant_id()
        conv = inbox_list.conversation(tenant_id, pk) if tenant_id is not None else None
        if conv is None:
            return self.response_404()
        body, problem = _body(fields)
        if problem is not None:
            return problem(self)
        try:
            result = change(conv, body)
        except inbox.NotFound:
            db.session.rollback()
            return self.response_404()
        except inbox.InboxError as exc:
            db.session.rollback()
            return self.response_422(message={exc.field or "_schema": [str(exc)]})
        state = inbox_list.states(tenant_id, [conv.id]).get(conv.id)
        if sent:
            return self.response(202, id=conv.id, message=inbox_list.message_dict(result), state=state)
        return self.response(200, id=conv.id, state=state)


TYPES = {"minutes": (int,), "assignee_id": (int, type(None)), "text": (str,), "take_over": (bool,),
         "template_id": (int,), "variables": (list,)}
TYPE_NAMES = {"minutes": "a whole number of minutes", "assignee_id": "a user id or null",
              "text": "text", "take_over": "true or false", "template_id": "a template id",
              "variables": "a list of texts"}


def _body(fields: dict[str, bool]):
    """(the request's JSON object, None) or (None, a function making the error response)."""
    raw = request.get_data(cache=True)
    if not raw.strip() and not any(fields.values()):
        return {}, None
    data = request.get_json(silent=True)  # tenant_id, if any, was taken out by the scope
    if not isinstance(data, dict):
        return None, lambda api: api.response_400(message="The body must be a JSON object")
    errors = {}
    for name in data:
        if name not in fields:
            errors[str(name)[:40]] = ["Unknown field"]
    for name, required in fields.items():
        if name not in data:
            if required:
                errors[name] = ["Missing data for required field."]
            continue
        value = data[name]
        wrong_bool = isinstance(value, bool) and bool not in TYPES[name]
        if wrong_bool or not isinstance(value, TYPES[name]):
            errors[name] = [f"Must be {TYPE_NAMES[name]}"]
        elif name == "variables" and not all(isinstance(v, str) for v in value):
            errors[name] = [f"Must be {TYPE_NAMES[name]}"]
    if errors:
        return None, lambda api: api.response_422(message=errors)
    return data, None
