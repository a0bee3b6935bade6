"""A hub with the console on: three users (one per role), the admin token, and a source and a route."""

from __future__ import annotations

import re

import pytest
from werkzeug.security import generate_password_hash

import plugins.webhook as webhook
from tests.conftest import WHSEC, forward_everything

TOKEN = "console-admin-token-0123456789"
SECRET_KEY = "console-secret-key-0123456789abcdef0123456789"
PASSWORDS = {"vera": "viewer-password-1", "otto": "operator-password-1", "ada": "admin-password-1"}
ROLES = {"vera": "viewer", "otto": "operator", "ada": "admin"}
# cheap hashes keep the tests fast; the README's command makes scrypt ones
HASHES = {name: generate_password_hash(password, method="pbkdf2:sha256:1000") for name, password in PASSWORDS.items()}


def console_section(**extra: object) -> str:
    users = "".join(f"    {name}: {{password_hash: \"{HASHES[name]}\", role: {ROLES[name]}}}\n" for name in PASSWORDS)
    more = "".join(f"  {key}: {value}\n" for key, value in extra.items())
    return f"console:\n  secret_key: {{$env: CONSOLE_SECRET}}\n  users:\n{users}{more}"


def console_config(url: str, *, attempts: int = 1, **extra: object) -> str:
    return forward_everything(url, attempts=attempts) + console_section(**extra)


ENV = {"APP_SECRET": WHSEC, "CONSOLE_SECRET": SECRET_KEY}


@pytest.fixture
def console_hub(make_hub, httpserver):
    test_hub = make_hub(console_config(httpserver.url_for("/receiver")), plugins=[webhook], env=ENV)
    test_hub.app.config["CXHUB_ADMIN_TOKEN"] = TOKEN
    return test_hub


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(client, name: str = "otto", password: str | None = None, next_page: str = "/console/"):
    page = client.get("/console/sign-in")
    return client.post("/console/sign-in", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "name": name,
                                                 "password": PASSWORDS.get(name, "") if password is None else password,
                                                 "next": next_page})


def token_of(client, path: str = "/console/") -> str:
    return csrf_of(client.get(path).get_data(as_text=True))
