"""Settings of a Jira Cloud connection and parameters of its actions."""

from __future__ import annotations

from hub.plugin import SecretField, SettingsSchema, fields
from marshmallow import validate


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
