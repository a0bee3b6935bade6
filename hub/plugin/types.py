"""The data that crosses the plugin boundary, in both directions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Mapping

from hub.plugin.score import Score

if TYPE_CHECKING:
    from marshmallow import Schema

    from hub.plugin.http import HttpClient

EVENT_TYPES: tuple[str, ...] = (
    "cx.survey.response",
    "cx.review.created",
    "cx.review.updated",
    "cx.review.deleted",
    "cx.ticket.created",
    "cx.ticket.updated",
    "cx.ticket.deleted",
    "cx.conversation.created",
    "cx.conversation.updated",
    "cx.conversation.deleted",
    "cx.message.received",
    "cx.contact.created",
    "cx.contact.updated",
    "cx.contact.deleted",
    "cx.company.created",
    "cx.company.updated",
    "cx.company.deleted",
    "cx.deal.created",
    "cx.deal.updated",
    "cx.deal.deleted",
    "cx.metric.alert",  # the hub's own: an alert rule fired or cleared (hub/alerting)
)


# --- What a plugin declares -------------------------------------------------


@dataclass(frozen=True)
class SourceInfo:
    """The plugin receives webhooks; `settings` validates `sources.<name>.settings`.

    `api_url_setting` is for vendors whose webhooks carry only ids (SurveyMonkey, Qualtrics,
    Google reviews): it names the setting holding the vendor API's base URL, and the core gives
    the source an HTTP client bound to it (`Source.api`) for the follow-up call.

    `unsigned`, given the loaded settings, tells whether the source then checks no signature
    at all (a vendor that signs nothing): the core refuses such a source without a `token`,
    so its endpoint is never open to anyone who finds the URL.

    `body_to_keep`, given the raw body, returns the body as the hub may keep it (intake log,
    quarantine, plugin trace) for vendors that put a credential inside the body itself, as
    Salesforce does with an Outbound Message's `SessionId`. It must leave a body the plugin
    still parses, since a quarantined request is replayed from what was kept.
    """

    settings: type[Schema] | None = None
    description: str = ""
    api_url_setting: str | None = None
    unsigned: Callable[[Mapping[str, Any]], bool] | None = None
    body_to_keep: Callable[[bytes], bytes] | None = None


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` API requests in any `per_seconds` seconds (a vendor's published limit)."""

    requests: int
    per_seconds: int

    def __post_init__(self) -> None:
        if self.requests < 1 or self.per_seconds < 1:
            raise ValueError(f"a rate limit needs at least 1 request per at least 1 second, got {self}")


@dataclass(frozen=True)
class ConnectionInfo:
    """The plugin talks to a destination; `settings` validates `connections.<name>.settings`.

    `url_setting` names the setting that holds the destination's base URL: the core binds the
    connection's HTTP client to that origin, so no template can send a request elsewhere.
    A connection without such a setting gets no client (`Connection.http` is None).

    `oauth=True` lets the plugin's connections have an `oauth:` block (client credentials, refresh
    token or JWT bearer): the core then gets, caches and refreshes the access token and sends
    `Authorization: Bearer ...` on every request of `Connection.http`, so the plugin must not set
    that header itself. `token_setting` names the plugin's static-token setting (a private-app
    token, say), when it has one: the core then requires exactly one of that setting and an
    `oauth:` block, and a plugin reads the setting only when it is set. `oauth_required=True`
    is for a vendor reached only through OAuth: a connection without the block is
    refused.

    `rate_limit` is the vendor's published API limit, the default of the connection's own
    `rate_limit:`. Every worker shares it through Redis, and deliveries wait for room rather than
    draw 429s.

    `for_people=True` says the plugin's actions send messages people read (a chat post, an
    email): its connections may then have `quiet_hours:` and its actions a `digest:`.
    """

    settings: type[Schema] | None = None
    url_setting: str | None = "base_url"
    description: str = ""
    oauth: bool = False
    token_setting: str | None = None
    oauth_required: bool = False
    rate_limit: RateLimit | None = None
    for_people: bool = False

    def __post_init__(self) -> None:
        if self.oauth and not self.url_setting:
            raise ValueError("oauth=True needs a url_setting: the core authenticates the requests of Connection.http")
        if (self.token_setting or self.oauth_required) and not self.oauth:
            raise ValueError("token_setting and oauth_required need oauth=True")
        if self.token_setting and self.oauth_required:
            raise ValueError("a connection with a static token_setting cannot also require OAuth")


@dataclass(frozen=True)
class ActionInfo:
    """One action a route can run; `params` validates the rendered parameters.

    `html_params` names the top-level parameters that are HTML: their templates escape every
    value they insert (customer text is attacker-controlled), and a route marks trusted markup
    with `| safe`.

    `creates` is the `Link.system` of the objects the action creates (its `ActionResult.link`),
    for an action that creates what later events are about: the hub looks the origin of an
    event up only in the systems the configured routes' actions create objects in, so events of
    other systems cost no query.
    """

    params: type[Schema] | None = None
    description: str = ""
    html_params: frozenset[str] = frozenset()
    creates: str | None = None


@dataclass(frozen=True)
class PluginInfo:
    """What `cxhub_plugin_info` returns: the plugin's name, version and capabilities."""

    name: str
    version: str
    source: SourceInfo | None = None
    connection: ConnectionInfo | None = None
    actions: Mapping[str, ActionInfo] = field(default_factory=dict)


# --- What the core hands to a plugin ----------------------------------------


@dataclass(frozen=True)
class Source:
    """A configured source: `sources.<name>` with its validated settings, and its vendor API client if declared."""

    name: str
    plugin: str
    settings: Mapping[str, Any]
    api: HttpClient | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Connection:
    """A configured connection with an HTTP client bound to its URL (one session per process)."""

    name: str
    plugin: str
    settings: Mapping[str, Any]
    http: HttpClient | None


@dataclass(frozen=True)
class Delivery:
    """The delivery an action runs for. `idempotency_key` is stable across retries and replays."""

    id: str
    attempt: int
    route: str

    @property
    def idempotency_key(self) -> str:
        return self.id


# --- What a source plugin returns -------------------------------------------


@dataclass(frozen=True)
class Customer:
    id: str | None = None
    email: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Link:
    """Where the event's object lives in the vendor's system."""

    system: str
    id: str
    url: str | None = None
    type: str | None = None


@dataclass(frozen=True)
class EventDraft:
    """A vendor event in canonical terms; the core wraps it in a CloudEvent.

    `vendor_event_id` is the vendor's own id for this delivery of the event: the
    core derives the CloudEvent id from it, which is what makes a resent webhook
    a duplicate. `link` names the object the event is about; `update=True` says the vendor
    sent this event because an object it told of before changed (the core also marks an
    event an update when it holds an earlier event about the same object).

    `enrich=True` marks a thin draft (a vendor that sends only ids): the core stores it at
    once, answers the vendor, and routes it only after `cxhub_enrich_event` has fetched the
    details in a worker.

    `parent` names the object the event's own object belongs to, when the vendor says (the
    message a Slack thread reply answers, the conversation an Intercom reply is part of): the
    core follows the lineage of either (`data.origin`), so a reply in the thread of the hub's
    alert is known to follow up the event the alert was posted for.
    """

    type: str
    vendor_event_id: str
    time: datetime
    link: Link
    customer: Customer = Customer()
    score: Score | None = None
    text: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)
    update: bool = False
    enrich: bool = False
    parent: Link | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"event type must be one of {EVENT_TYPES}, got {self.type!r}")
        if self.time.tzinfo is None:
            raise ValueError("event time must be timezone-aware")


@dataclass(frozen=True)
class FoundEvent:
    """What an enrichment found when the thin event only announced it (`cxhub_enrich_event` returns it).

    Some vendors notify "this object changed" with nothing that names the change itself
    (Google's `UPDATED_REVIEW` names the review, not the edit), while a poll of the same
    vendor sees the change and names it by its content. Returning `FoundEvent(draft)` says that
    `draft` is the event under its own `vendor_event_id`: the core takes it in like a polled
    event (stored and routed once, or recognised as one already held), and removes the thin
    announcement, so a change both paths bring is one event. A plain `EventDraft` instead
    completes the thin event in place, under the thin event's ids.
    """

    draft: EventDraft


@dataclass(frozen=True)
class Reply:
    """A response the plugin wants sent instead of the hub's default JSON (handshakes, SOAP acks)."""

    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejection:
    """One element of a batch the plugin could not read: quarantined on its own, the rest kept.

    `body` is what is kept for replay: a request body holding that element alone, in the
    vendor's own format (for Trustpilot, `{"events": [element]}`), so that a replay, once the
    plugin is fixed, parses it like any other request. `reason` says what was wrong with it.
    """

    body: bytes
    reason: str


@dataclass(frozen=True)
class Parsed:
    """The result of parsing a request: zero or more events, and optionally a reply.

    A handshake is `Parsed(events=[], reply=Reply(...))`. With events and a reply, the
    reply is sent only after the events are durably recorded. `rejected` lists the elements
    of a batch that could not be read: each is quarantined on its own, and the events of the
    other elements are kept.
    """

    events: list[EventDraft] = field(default_factory=list)
    reply: Reply | None = None
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(frozen=True)
class PollResult:
    """What one poll of a vendor's API found: events, and the cursor the next poll starts from.

    The core stores `cursor` only after the events are stored, so a poll cut off half-way runs
    again from the previous cursor. None keeps the previous cursor.
    """

    events: list[EventDraft] = field(default_factory=list)
    cursor: str | None = None


# --- What an action returns -------------------------------------------------


@dataclass(frozen=True)
class ActionResult:
    """What the destination created or changed, kept on the delivery record.

    `link` names the object the action created as this vendor's own events name it (the same
    `Link.system` and `Link.id` its source side gives): the core records it, so a later event
    about that object is linked to this delivery and to the event it ran for (the lineage).
    Leave it None for an action that creates nothing events are about (a comment, a tag).
    """

    external_id: str | None = None
    url: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)
    link: Link | None = None
