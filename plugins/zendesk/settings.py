"""Settings of a Zendesk source and connection, and parameters of the Zendesk actions."""

from __future__ import annotations

from typing import Any

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields
from marshmallow import post_load, validate, validates_schema

SUBDOMAIN = validate.Regexp(r"^[a-z0-9][a-z0-9-]*$", error="a subdomain is the NAME of NAME.zendesk.com")
PRIORITIES = ("urgent", "high", "normal", "low")
TICKET_TYPES = ("problem", "incident", "question", "task")
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
COMMENT_FORMATS = ("text", "html", "markdown")


class ZendeskSourceSettings(SettingsSchema):
    secret = SecretField(required=True, metadata={"doc": "the webhook's signing secret, as Zendesk shows it"})
    previous_secret = SecretField(load_default=None, metadata={"doc": "accepted too, while rotating secrets"})
    tolerance_seconds = fields.Integer(load_default=300, validate=validate.Range(min=1),
                                       metadata={"doc": "replay window on the signature timestamp"})
    subdomain = fields.String(load_default=None, validate=SUBDOMAIN,
                              metadata={"doc": "gives events a link to the ticket in the agent interface"})
    # The requester's email and name come from the Users API after the 202, with these credentials
    # (an agent's API token or an OAuth token with users:read); without them events keep the id only.
    base_url = fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False,
                          metadata={"doc": "the Support API's host, if not https://SUBDOMAIN.zendesk.com"})
    email = fields.String(load_default=None, metadata={"doc": "the agent the API token belongs to"})
    api_token = SecretField(load_default=None, metadata={"doc": "enriches the requester from the Users API"})
    oauth_token = SecretField(load_default=None, metadata={"doc": "instead of email and api_token"})

    @validates_schema
    def credentials_for_enrichment(self, data: dict[str, Any], **kwargs: Any) -> None:
        token_auth = bool(data.get("email")) or bool(data.get("api_token"))
        if token_auth and data.get("oauth_token"):
            raise ValidationError("set either email and api_token or oauth_token, not both")
        if token_auth and not (data.get("email") and data.get("api_token")):
            raise ValidationError("API token auth needs both email and api_token")
        if (token_auth or data.get("oauth_token")) and not (data.get("subdomain") or data.get("base_url")):
            raise ValidationError("enriching requesters needs the account: set subdomain (or base_url)")

    @post_load
    def endpoint(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The Users API's host, bound to the source's HTTP client; None when no credentials are set."""
        credentials = data.get("api_token") or data.get("oauth_token")
        site = data.get("base_url") or (f"https://{data['subdomain']}.zendesk.com" if data.get("subdomain") else None)
        return {**data, "endpoint": site.rstrip("/") if credentials and site else None}


class ZendeskConnectionSettings(SettingsSchema):
    """One of `subdomain` or `base_url`; `email` + `api_token` (basic auth) or `oauth_token` (bearer)."""

    subdomain = fields.String(load_default=None, validate=SUBDOMAIN, metadata={"doc": "NAME of NAME.zendesk.com"})
    base_url = fields.Url(load_default=None, schemes={"http", "https"}, require_tld=False,
                          metadata={"doc": "instead of subdomain: a host mapped to your account"})
    email = fields.String(load_default=None, metadata={"doc": "the agent the API token belongs to"})
    api_token = SecretField(load_default=None)
    oauth_token = SecretField(load_default=None)

    @validates_schema
    def one_site_and_one_credential(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("subdomain")) == bool(data.get("base_url")):
            raise ValidationError("set exactly one of subdomain or base_url")
        token_auth = bool(data.get("email")) or bool(data.get("api_token"))
        if token_auth == bool(data.get("oauth_token")):
            raise ValidationError("set either email and api_token (API token auth) or oauth_token (OAuth)")
        if token_auth and not (data.get("email") and data.get("api_token")):
            raise ValidationError("API token auth needs both email and api_token")

    @post_load
    def endpoint(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """The HTTP client is bound to the account's own host."""
        site = data["base_url"] or f"https://{data['subdomain']}.zendesk.com"
        return {**data, "endpoint": site.rstrip("/")}


class CommentParams(SettingsSchema):
    comment = fields.String(required=True, validate=validate.Length(min=1),
                            metadata={"doc": "the comment; cut to Zendesk's 64 KB with a link"})
    comment_format = fields.String(load_default="text", validate=validate.OneOf(COMMENT_FORMATS))


class CustomFieldParams(SettingsSchema):
    id = fields.Integer(required=True, strict=False)
    value = fields.Raw(required=True, allow_none=True)


class CreateTicketParams(CommentParams):
    subject = fields.String(required=True, validate=validate.Length(min=1))
    public = fields.Boolean(load_default=True)
    requester_email = fields.Email(load_default=None, metadata={"doc": "default: the event's customer"})
    requester_name = fields.String(load_default=None, metadata={"doc": "default: the event's customer"})
    priority = fields.String(load_default=None, validate=validate.OneOf(PRIORITIES))
    type = fields.String(load_default=None, validate=validate.OneOf(TICKET_TYPES))
    tags = fields.List(fields.String(validate=validate.Regexp(r"^\S+$", error="tags cannot contain spaces")),
                       load_default=list)
    custom_fields = fields.List(fields.Nested(CustomFieldParams), load_default=list)


class AddCommentParams(CommentParams):
    ticket_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1))
    public = fields.Boolean(load_default=False, metadata={"doc": "default: an internal note"})


class UpdateTicketParams(SettingsSchema):
    ticket_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    tags = fields.List(fields.String(), load_default=None, metadata={"doc": "replaces every tag"})
    additional_tags = fields.List(fields.String(), load_default=None)
    remove_tags = fields.List(fields.String(), load_default=None)
    assignee_id = fields.Integer(load_default=None, strict=False)
    assignee_email = fields.Email(load_default=None)

    @validates_schema
    def changes_something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if all(data.get(name) is None for name in self.fields if name != "ticket_id"):
            raise ValidationError("give at least one change: status, tags, additional_tags, remove_tags, "
                                  "assignee_id or assignee_email")
        if data.get("assignee_id") is not None and data.get("assignee_email"):
            raise ValidationError("give assignee_id or assignee_email, not both")
