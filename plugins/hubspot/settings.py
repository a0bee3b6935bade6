"""Settings of a HubSpot source and connection, and the parameters of the HubSpot actions."""

from __future__ import annotations

from typing import Any

from marshmallow import validate, validates_schema

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields

API_URL = "https://api.hubapi.com"
PRIORITIES = ("LOW", "MEDIUM", "HIGH", "URGENT")
# A property's internal name: lower-case letters, digits and underscores (HubSpot's rule for custom ones).
PROPERTY_NAME = validate.Regexp(r"^[a-z0-9_]{1,100}$", error="a property's internal name is lower-case letters, "
                                                              "digits and underscores")
RECORD_ID = validate.Regexp(r"^[0-9]{1,20}$", error="a HubSpot record id is a number")


def _api_url() -> fields.Url:
    return fields.Url(load_default=API_URL, require_tld=False, schemes={"http", "https"},
                      metadata={"doc": "HubSpot's API (a stand-in in tests)"})


def _access_token(doc: str) -> SecretField:
    return SecretField(load_default=None, metadata={"doc": doc})


class HubSpotSourceSettings(SettingsSchema):
    client_secret = SecretField(required=True, metadata={
        "doc": "the app's client secret: the key of X-HubSpot-Signature-v3"})
    access_token = _access_token("a private app's access token, to read the contacts events name (email, name)")
    public_url = fields.Url(load_default=None, require_tld=False, schemes={"http", "https"}, metadata={
        "doc": "the webhook URL exactly as entered in HubSpot, when a proxy stands between HubSpot and the hub"})
    api_url = _api_url()
    accept_legacy_signatures = fields.Boolean(load_default=False, metadata={
        "doc": "also accept the v1 and v2 X-HubSpot-Signature (no timestamp: replayable) on requests without v3"})


class HubSpotConnectionSettings(SettingsSchema):
    access_token = _access_token("a private app's access token, sent as Authorization: Bearer; give it or "
                                 "the connection's oauth: block, not both")
    api_url = _api_url()


class ContactParams(SettingsSchema):
    """Which contact: `contact_id`, else `email` (default: the event's customer email)."""

    contact_id = fields.String(load_default=None, validate=RECORD_ID,
                               metadata={"doc": "the HubSpot contact's record id"})
    email = fields.Email(load_default=None, metadata={"doc": "found by search; default: the event's customer email"})


class UpdateContactParams(ContactParams):
    properties = fields.Dict(keys=fields.String(validate=PROPERTY_NAME), values=fields.Raw(allow_none=True),
                             required=True, validate=validate.Length(min=1),
                             metadata={"doc": "internal property name -> value (last NPS score, band, date...)"})
    create = fields.Boolean(load_default=False, metadata={"doc": "create the contact when none has the email"})


class AddNoteParams(ContactParams):
    body = fields.String(required=True, validate=validate.Length(min=1),
                         metadata={"doc": "plain text; escaped and cut to HubSpot's 65,536 characters"})
    timestamp = fields.String(load_default=None, metadata={"doc": "hs_timestamp (ISO 8601); default: the event's time"})
    deal_id = fields.String(load_default=None, validate=RECORD_ID)
    company_id = fields.String(load_default=None, validate=RECORD_ID)
    ticket_id = fields.String(load_default=None, validate=RECORD_ID)


class CreateTicketParams(ContactParams):
    subject = fields.String(required=True, validate=validate.Length(min=1))
    content = fields.String(load_default=None, metadata={"doc": "the ticket's description (plain text)"})
    pipeline = fields.String(load_default="0", validate=validate.Length(min=1),
                             metadata={"doc": "hs_pipeline; 0 is the default Support Pipeline"})
    stage = fields.String(load_default="1", validate=validate.Length(min=1),
                          metadata={"doc": "hs_pipeline_stage; 1 is the default pipeline's New stage"})
    priority = fields.String(load_default=None, validate=validate.OneOf(PRIORITIES))
    company_id = fields.String(load_default=None, validate=RECORD_ID)
    deal_id = fields.String(load_default=None, validate=RECORD_ID)
    properties = fields.Dict(keys=fields.String(validate=PROPERTY_NAME), values=fields.Raw(allow_none=True),
                             load_default=dict, metadata={"doc": "more ticket properties"})
    associate_contact = fields.Boolean(load_default=True, metadata={
        "doc": "associate the ticket with the contact (by contact_id or email); a contact not found is no error"})

    @validates_schema
    def reserved_properties(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = {"subject", "content", "hs_pipeline", "hs_pipeline_stage", "hs_ticket_priority"} & set(
            data.get("properties") or {})
        if given:
            raise ValidationError(f"set {', '.join(sorted(given))} with subject, content, pipeline, stage and "
                                  "priority, not in properties")
