"""Who is signed in to the console, what their role allows, and the slowdown after failed sign-ins."""

from __future__ import annotations

import functools
import hmac
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter
from redis import Redis
from redis.exceptions import RedisError
from werkzeug.security import check_password_hash, generate_password_hash

from hub.config.model import ConsoleConfig

log = logging.getLogger("cxhub.console")

ROLES = ("viewer", "operator", "admin")  # each may do what the ones before it may
TOKEN_USER = "admin-token"


@functools.cache
def _dummy_hash() -> str:
    """Checked when the user name is unknown, so a wrong name costs as long as a wrong password."""
    return generate_password_hash("not a password of anyone")

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class SignedIn:
    name: str
    role: str

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def now() -> float:
    """The clock sessions are timed by (a seam for tests that let a session expire)."""
    return time.time()


def check_credentials(console: ConsoleConfig, admin_token: str | None, name: str, password: str) -> SignedIn | None:
    """The user these credentials sign in, or None. An empty name with the admin token signs in as admin."""
    if not name:
        if console.admin_token and admin_token and hmac.compare_digest(password.encode(), admin_token.encode()):
            return SignedIn(TOKEN_USER, "admin")
        check_password_hash(_dummy_hash(), password)
        return None
    user = console.users.get(name)
    if check_password_hash(user.password_hash if user else _dummy_hash(), password) and user is not None:
        return SignedIn(user.name, user.role)
    return None


class FailedSignIns:
    """Failed sign-ins per client address and per user name in a moving 15-minute window.

    Past `limit` failures, sign-in is refused for a while without even checking the password.
    Counted in the hub's Redis, so every web process shares the count; while Redis is down,
    in this process's memory instead (the console must still let people in).
    """

    WINDOW_MINUTES = 15

    def __init__(self, limit: int) -> None:
        self.rate = RateLimitItemPerMinute(limit, self.WINDOW_MINUTES)
        self.memory = MovingWindowRateLimiter(MemoryStorage())
        self.redis_limiter: MovingWindowRateLimiter | None = None

    def bind(self, redis: Redis, namespace: str) -> None:
        storage = RedisStorage("redis://", connection_pool=redis.connection_pool,
                               key_prefix=f"cxhub:{namespace}:console-signin")
        self.redis_limiter = MovingWindowRateLimiter(storage)

    def _each(self, action: Callable[[MovingWindowRateLimiter], Any]) -> Any:
        if self.redis_limiter is not None:
            try:
                return action(self.redis_limiter)
            except RedisError:
                log.warning("Redis is unavailable: failed sign-ins are counted in this process only")
        return action(self.memory)

    def wait_seconds(self, *keys: str) -> int:
        """0 if these keys may try to sign in now; else how many seconds until they may."""
        def check(limiter: MovingWindowRateLimiter) -> int:
            waits = [limiter.get_window_stats(self.rate, key).reset_time - time.time()
                     for key in keys if not limiter.test(self.rate, key)]
            return max(1, math.ceil(max(waits))) if waits else 0
        return int(self._each(check))

    def fail(self, *keys: str) -> None:
        self._each(lambda limiter: [limiter.hit(self.rate, key) for key in keys])


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a console path on this host only (never an open redirect)."""
    if not target:
        return url_for("console.overview")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/console") or target.startswith("//") \
            or "\\" in target:
        return url_for("console.overview")
    return target


def current_user() -> SignedIn | None:
    user: SignedIn | None = g.get("console_user")
    return user


def load_user(console: ConsoleConfig) -> SignedIn | None:
    """The session's user, if its session has not expired and the user still exists with that role."""
    name, role, at = session.get("user"), session.get("role"), session.get("at")
    if not name or role not in ROLES or not isinstance(at, (int, float)):
        return None
    if now() - at > console.session_minutes * 60:
        session.clear()
        g.console_expired = True
        return None
    if name == TOKEN_USER:
        if not (console.admin_token and current_app.config.get("CXHUB_ADMIN_TOKEN")):
            return None
    elif name not in console.users or console.users[name].role != role:
        return None  # removed, or given another role, since signing in
    return SignedIn(name, role)


def sign_in(user: SignedIn) -> None:
    session.clear()  # a fresh session (and CSRF token) for each sign-in: no fixation
    session.permanent = True
    session.update({"user": user.name, "role": user.role, "at": now()})


def requires(role: str) -> Callable[[View], View]:
    """Only users with at least `role` may use this view (403 otherwise)."""
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("console.sign_in", next=request.full_path))
            if not user.may(role):
                abort(403, f"your role ({user.role}) may not do this; it needs {role} or above")
            return view(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate
