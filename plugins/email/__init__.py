"""Email: send text and HTML alternatives over SMTP (STARTTLS or TLS, with authentication)."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import ActionInfo, ActionResult, Connection, ConnectionInfo, Delivery, PluginInfo, hookimpl
from plugins.email import actions
from plugins.email.settings import EmailConnectionSettings, SendParams

__version__ = "0.1.0"


@hookimpl
def cxhub_plugin_info() -> PluginInfo:
    # No url_setting: mail goes over SMTP, not the HTTP client, and only to the `host` setting.
    return PluginInfo(
        name="email", version=__version__,
        connection=ConnectionInfo(EmailConnectionSettings, url_setting=None,
                                  description="An SMTP server (submission with STARTTLS or TLS)", for_people=True),
        actions={"send": ActionInfo(SendParams, "Send an email with text and HTML alternatives",
                                    html_params=frozenset({"html"}))},
    )


@hookimpl
def cxhub_run_action(connection: Connection, action: str, params: Mapping[str, Any],
                     delivery: Delivery) -> ActionResult:
    return actions.send(connection, params, delivery)
