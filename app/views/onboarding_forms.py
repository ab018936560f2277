"""The onboarding wizard's forms (CSRF-protected through FAB's DynamicForm)."""
from __future__ import annotations

from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_wtf.file import FileField
from wtforms import DecimalField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional

PLATFORM_CHOICES = [("all", "All platforms"), ("messenger", "Facebook Messenger"),
                    ("instagram", "Instagram"), ("whatsapp", "WhatsApp")]


def _text(label, max_len=255, description=None, required=False):
    return StringField(label, validators=[DataRequired() if required else Optional(),
                                          Length(max=max_len)],
                       widget=BS3TextFieldWidget(), description=description)


def _area(label, description=None):
    return TextAreaField(label, validators=[Optional(), Length(max=5000)],
                         widget=BS3TextAreaFieldWidget(), description=description)


class ProfileForm(DynamicForm):
    business_name = _text("Business name", 160, required=True)
    owner_name = _text("Owner", 120)
    industry = _text("Industry", 120, "e.g. handloom sarees, skincare, electronics")
    description = _area("What you sell", "A few sentences the salesperson can use")
    website = StringField("Website", validators=[Optional(), URL(require_tld=False), Length(max=255)],
                          widget=BS3TextFieldWidget())
    phone = _text("Phone", 32)
    goals = _area("Goals", "e.g. more orders from Instagram, fewer unanswered questions")
    audience = _area("Target audience", "Who buys from you")
    tone = _text("Tone", 255, "How the salesperson should sound, e.g. warm, concise, Hinglish ok")
    policies = _area("Policies", "Shipping, returns, payment and warranty rules the agent must follow")


class DocumentForm(DynamicForm):
    file = FileField("Document", description="PDF, Word (DOCX), text or Markdown")


class CampaignForm(DynamicForm):
    name = _text("Campaign name", 160, required=True)
    target_platform = SelectField("Platform", choices=PLATFORM_CHOICES, default="all",
                                  widget=Select2Widget())
    products = SelectMultipleField("Products", coerce=int, validators=[Optional()],
                                   description="Products this campaign sells")
    new_product_name = _text("Add a product: name", 200)
    new_product_price = DecimalField("Add a product: price", places=2,
                                     validators=[Optional(), NumberRange(min=0, max=10_000_000)],
                                     widget=BS3TextFieldWidget(), description="In rupees, e.g. 799.00")
    new_product_stock = IntegerField("Add a product: stock", default=0,
                                     validators=[Optional(), NumberRange(min=0, max=1_000_000)],
                                     widget=BS3TextFieldWidget())
    audience = _area("Audience", "Who this campaign is for")
    greeting = _area("Greeting", "How the salesperson opens the conversation")
    qualification_questions = _area("Qualification questions", "What to ask before recommending")
    objection_handling = _area("Objection handling", "Answers to 'too expensive', 'will it fit'...")
    closing = _area("Closing", "How to ask for the order")
