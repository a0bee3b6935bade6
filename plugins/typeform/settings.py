"""Settings of a Typeform source."""

from __future__ import annotations

from hub.plugin import SecretField, SettingsSchema, fields


class HiddenFieldsSchema(SettingsSchema):
    """Which hidden fields of the form identify the customer."""

    customer_id = fields.String(load_default="user_id")
    customer_email = fields.String(load_default="email")
    customer_name = fields.String(load_default="name")


class TypeformSourceSettings(SettingsSchema):
    secret = SecretField(required=True, metadata={"doc": "the webhook's secret, as set in Typeform"})
    previous_secret = SecretField(load_default=None, metadata={"doc": "accepted too, while rotating secrets"})
    hidden_fields = fields.Nested(HiddenFieldsSchema, load_default=lambda: HiddenFieldsSchema().load({}))
    name_question = fields.String(load_default=None,
                                  metadata={"doc": "ref of a question that asks the customer's name"})
