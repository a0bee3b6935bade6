"""Settings of a Salesforce source and connection, and parameters of the Salesforce actions."""

from __future__ import annotations

from typing import Any

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields
from marshmallow import validate, validates, validates_schema

from plugins.salesforce.ids import ID, short_form

API_VERSION = "v62.0"
API_NAME = validate.Regexp(r"^[A-Za-z][A-Za-z0-9_]{0,79}$",
                           error="an API name is letters, digits and underscores (Contact, NPS_Score__c)")
RECORD_ID = validate.Regexp(ID.pattern, error="a Salesforce record id is 15 or 18 letters and digits")


class SalesforceSourceSettings(SettingsSchema):
    organization_id = fields.String(required=True, metadata={
        "doc": "the org's id (Setup > Company Information), 15 or 18 characters; messages from any other org are "
               "refused"})
    client_certificate_checked = fields.Boolean(load_default=False, metadata={
        "doc": "true when a reverse proxy in front of the hub accepts only Salesforce's client certificate: the "
               "source then needs no token"})

    @validates("organization_id")
    def an_org_id(self, value: str, **kwargs: Any) -> None:
        if short_form(value) is None or not value.startswith("00D"):
            raise ValidationError("an organization id is 15 or 18 letters and digits starting 00D (an 18-character "
                                  "one ends with the checksum of the first 15: copy it, do not retype it)")


class SalesforceConnectionSettings(SettingsSchema):
    instance_url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False, metadata={
        "doc": "the org's My Domain URL, https://NAME.my.salesforce.com; every API call goes there"})
    access_token = SecretField(load_default=None, metadata={
        "doc": "sent as Authorization: Bearer; give it or the connection's oauth: block, not both"})
    api_version = fields.String(load_default=API_VERSION, validate=validate.Regexp(
        r"^v[1-9][0-9]\.0$", error="an API version is written like v62.0"), metadata={
        "doc": "the REST API version every path is pinned to (/services/data/v62.0/...)"})


class CreateCaseParams(SettingsSchema):
    subject = fields.String(required=True, validate=validate.Length(min=1), metadata={"doc": "cut to 255 characters"})
    description = fields.String(load_default=None, metadata={"doc": "cut to 32,000 characters, with a link"})
    priority = fields.String(load_default=None, metadata={"doc": "a value of the org's Priority picklist (High)"})
    origin = fields.String(load_default=None, metadata={"doc": "a value of the org's Case Origin picklist (Web)"})
    status = fields.String(load_default=None, metadata={"doc": "default: the org's default status"})
    contact_email = fields.Email(load_default=None, metadata={"doc": "default: the event's customer"})
    record_fields = fields.Dict(keys=fields.String(validate=API_NAME), values=fields.Raw(allow_none=True),
                                data_key="fields", load_default=dict,
                                metadata={"doc": "more Case fields by API name (NPS_Score__c: 3)"})
    delivery_id_field = fields.String(load_default=None, validate=API_NAME, metadata={
        "doc": "an External ID text field of Case that receives the delivery id: the case is then upserted on it, "
               "so a retry never makes a second case"})


class UpdateRecordParams(SettingsSchema):
    """By `id`, or by `external_id_field` and `external_id` (Salesforce's upsert)."""

    object = fields.String(required=True, validate=API_NAME, metadata={"doc": "Contact, Lead, Account, Custom__c"})
    id = fields.String(load_default=None, validate=RECORD_ID)
    external_id_field = fields.String(load_default=None, validate=API_NAME)
    external_id = fields.String(load_default=None, validate=validate.Length(min=1, max=255))
    record_fields = fields.Dict(keys=fields.String(validate=API_NAME), values=fields.Raw(allow_none=True),
                                data_key="fields", required=True, validate=validate.Length(min=1),
                                metadata={"doc": "the fields to set, by API name"})

    @validates_schema
    def one_way_to_the_record(self, data: dict[str, Any], **kwargs: Any) -> None:
        by_external = data.get("external_id_field") is not None or data.get("external_id") is not None
        if (data.get("id") is not None) == by_external:
            raise ValidationError("give either id, or external_id_field and external_id")
        if by_external and not (data.get("external_id_field") and data.get("external_id")):
            raise ValidationError("an update by external id needs both external_id_field and external_id")


class AddCommentParams(SettingsSchema):
    case_id = fields.String(required=True, validate=RECORD_ID)
    comment = fields.String(required=True, validate=validate.Length(min=1),
                            metadata={"doc": "cut to CaseComment's 4,000 bytes, with a link"})
    public = fields.Boolean(load_default=False, metadata={"doc": "IsPublished: shown to the customer in portals"})
