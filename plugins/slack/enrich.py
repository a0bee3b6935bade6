"""Who clicked: a button click's user, fetched from users.info after the 200.

Slack's interactivity payload names the clicking user by id only (`user.id`, plus a username).
With a `bot_token` in the source's settings, clicks are stored thin and a worker asks
`GET users.info?user=<id>` (scopes `users:read` and `users:read.email`) for the person's email
and name, so a route can act for them (assign the Jira issue to the one who clicked "I'll take
it"). The clicker is not the customer: they go in `data.attributes` as `actor_id`, `actor_email`
and `actor_name`, and `data.customer` stays as the click set it. A user deleted since
(`user_not_found`) leaves the click as it came; a token Slack refuses fails the enrichment, for
`cxhub enrichment retry` once it is fixed; `ratelimited` and 5xx are retried.
"""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import GiveUp, PauseConnection, Source, as_email, as_id, as_text, dig
from plugins.slack.webapi import MethodFailed, read

GONE = frozenset({"user_not_found", "users_not_found", "user_not_visible"})


def clicker(source: Source, event: Mapping[str, Any]) -> dict[str, Any]:
    data = event["data"]
    attributes = data.get("attributes") or {}
    user = as_id(attributes.get("user"))
    if attributes.get("slack_event_type") != "block_actions" or not user or source.api is None:
        return dict(event)
    try:
        answer = read(source.api, source.settings["bot_token"], "users.info", {"user": user})
    except PauseConnection as error:  # for a source there is no connection to pause: the enrichment fails
        raise GiveUp(f"Slack refused the source's bot_token ({error.message}); it needs users:read and "
                     "users:read.email: fix it, then cxhub enrichment retry", status_code=error.status_code) from None
    except MethodFailed as error:
        if error.code in GONE:
            return dict(event)
        raise
    actor = {"actor_id": as_id(dig(answer, "user.id")) or user,
             "actor_email": as_email(dig(answer, "user.profile.email")),
             "actor_name": as_text(dig(answer, "user.profile.real_name")) or as_text(dig(answer, "user.real_name"))
             or as_text(dig(answer, "user.profile.display_name"))}
    enriched = {**attributes, **{key: value for key, value in actor.items() if value}}
    return {**event, "data": {**data, "attributes": enriched}}
