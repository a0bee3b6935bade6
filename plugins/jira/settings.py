"""Settings of a Jira Cloud connection and parameters of its actions."""

from __future__ import annotations

from typing import Any

from hub.plugin import SecretField, SettingsSchema, ValidationError, fields
from marshmallow import validate, validates_schema


class JiraSourceSettings(SettingsSchema):
    secret = SecretField(required=True, metadata={"doc": "the webhook's secret, as entered in Jira's webhook form"})
    previous_secret = SecretField(load_default=None, metadata={"doc": "accepted too, while rotating secrets"})
    tolerance_seconds = fields.Integer(load_default=3600, validate=validate.Range(min=1),
                                       metadata={"doc": "replay window on the payload's timestamp; Jira's "
                                                        "retries keep the first attempt's timestamp"})


class JiraConnectionSettings(SettingsSchema):
    base_url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False,
                          metadata={"doc": "your site, e.g. https://example.atlassian.net"})
    email = fields.String(required=True, metadata={"doc": "the Atlassian account that owns the API token"})
    api_token = SecretField(required=True)


NO_SPACES = validate.Regexp(r"^\S+$", error="Jira labels cannot contain spaces")


class CreateIssueParams(SettingsSchema):
    project = fields.String(required=True, validate=validate.Length(min=1), metadata={"doc": "project key"})
    summary = fields.String(required=True, validate=validate.Length(min=1),
                            metadata={"doc": "one line; cut to Jira's 255 characters with '…'"})
    description = fields.String(load_default="", metadata={"doc": "plain text; blank lines separate "
                                                                  "paragraphs, lines starting '> ' are quoted; "
                                                                  "cut to Jira's 32,767 characters with a link"})
    issue_type = fields.String(load_default="Task")
    priority = fields.String(load_default=None)
    labels = fields.List(fields.String(validate=NO_SPACES), load_default=list)


ISSUE = validate.Regexp(r"^(?:[A-Za-z][A-Za-z0-9_]*-[0-9]+|[0-9]+)$",
                        error="an issue key (like CX-42) or a numeric issue id")


class AddCommentParams(SettingsSchema):
    issue = fields.String(required=True, validate=ISSUE, metadata={"doc": "issue key or id"})
    comment = fields.String(required=True, validate=validate.Length(min=1),
                            metadata={"doc": "plain text, as for description; cut to 32,767 characters with a link"})


class TransitionIssueParams(SettingsSchema):
    issue = fields.String(required=True, validate=ISSUE, metadata={"doc": "issue key or id"})
    transition = fields.String(required=True, validate=validate.Length(min=1),
                               metadata={"doc": "a transition's name or its target status's name (any case)"})


ACCOUNT_ID = validate.Regexp(r"^[A-Za-z0-9:_-]{1,128}$", error="an Atlassian account id, such as 5b10ac8d82e05b22cc7d4ef5")


class AssignIssueParams(SettingsSchema):
    """The assignee by account id, or by the email Jira's user search finds them under."""

    issue = fields.String(required=True, validate=ISSUE, metadata={"doc": "issue key or id"})
    account_id = fields.String(load_default=None, validate=ACCOUNT_ID, metadata={"doc": "the assignee's account id"})
    email = fields.Email(load_default=None, metadata={"doc": "the assignee's email, looked up with the user search"})

    @validates_schema
    def one_assignee(self, data: dict[str, Any], **kwargs: Any) -> None:
        if bool(data.get("account_id")) == bool(data.get("email")):
            raise ValidationError("set exactly one of account_id or email (the assignee)")
