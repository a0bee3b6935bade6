"""The web console at /console: server-rendered pages over the store, the queues and the routes.

Off until the config has a `console:` section (see README, "The console"). Sign-in sessions
live in a signed cookie; every state-changing request carries a CSRF token.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from hub.config.model import ConsoleConfig
from hub.console.auth import FailedSignIns
from hub.console.session import ConsoleSessions
from hub.runtime import EXTENSION

CSRF = "cxhub.console.csrf"
FAILURES = "cxhub.console.failures"


def init_console(app: Flask, console: ConsoleConfig) -> None:
    """Register the console on `app` with its session, CSRF and sign-in settings."""
    from hub.console import cx  # noqa: F401  (its pages join the blueprint)
    from hub.console.views import blueprint  # the views import the hub's parts; the factory imports this

    app.secret_key = console.secret_key.reveal()
    app.session_interface = ConsoleSessions()
    app.config.update(
        SESSION_COOKIE_NAME="cxhub_console",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # The signed sign-in time ends a session (hub.console.auth); the cookie outlives it by a day
        # so that the console can say "your session expired" rather than just ask to sign in.
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=console.session_minutes, days=1),
        WTF_CSRF_CHECK_DEFAULT=False,  # only the console's forms: webhooks and the admin API have no session
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as its session
        WTF_CSRF_ENABLED=True,
    )
    app.extensions[CSRF] = CSRFProtect(app)
    failures = FailedSignIns(console.max_failed_sign_ins)
    hub = app.extensions[EXTENSION]
    failures.bind(hub.redis, hub.config.hub.queue)
    app.extensions[FAILURES] = failures
    app.register_blueprint(blueprint)
