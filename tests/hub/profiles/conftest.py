"""A generic source whose events carry an email, the app's customer id and an external user id."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

import plugins.webhook as webhook
from hub.testing import sign_standard_webhook
from tests.conftest import WHSEC

APP = """
sources:
  app:
    plugin: webhook
    settings:
      secret: {$env: APP_SECRET}
      mapping:
        object_id: response.id
        time: response.at
        score: response.score
        text: response.comment
        customer_email: customer.email
        customer_id: customer.id
        customer_name: customer.name
        attributes: {external_user_id: customer.external_id}
      score_scale: {type: nps, min: 0, max: 10}
"""
_messages = itertools.count(1)


class App:
    """Sends events about customers to the `app` source, signed, and reads back their profiles."""

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.responses = itertools.count(1)

    def send(self, *, email: str | None = None, id: str | None = None, external: str | None = None,
             name: str | None = None, score: int | None = 5, at: str = "2026-11-20T10:00:00Z",
             comment: str = "fine") -> str:
        customer = {key: value for key, value in (("email", email), ("id", id), ("external_id", external),
                                                  ("name", name)) if value is not None}
        payload = {"response": {"id": next(self.responses), "at": at, "comment": comment,
                                **({"score": score} if score is not None else {})}, "customer": customer}
        body = orjson.dumps(payload)
        response = self.hub.post("app", body, sign_standard_webhook(WHSEC, f"msg_{next(_messages)}", body))
        assert response.status_code == 202, response.data
        [event_id] = response.get_json()["accepted"]
        return str(event_id)

    def profile_of(self, event_id: str) -> str | None:
        row = self.hub.store.reads.event(event_id)
        return self.hub.store.profiles.root_of(row.profile_id) if row.profile_id else None

    def state_of(self, event_id: str) -> str:
        return str(self.hub.store.reads.event(event_id).profile_state)

    def view(self, text: str) -> Any:
        from hub.operations import find_customer

        return find_customer(self.hub.store, text)


@pytest.fixture
def make_app(make_hub):
    def factory(customers: str = "") -> App:
        return App(make_hub(APP + customers, plugins=[webhook], env={"APP_SECRET": WHSEC}))

    return factory


@pytest.fixture
def app(make_app) -> App:
    return make_app()
