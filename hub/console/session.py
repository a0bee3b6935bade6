"""The console's session cookie: Flask's signed cookie, `Secure` whenever the request came over TLS.

`request.is_secure` follows X-Forwarded-Proto only when the deployment wraps the app in
werkzeug's ProxyFix, so a client cannot talk the hub into a flag it did not earn either way.
"""

from __future__ import annotations

from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface


class ConsoleSessions(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or (has_request_context() and request.is_secure)
