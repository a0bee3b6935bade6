"""The validated configuration, as typed, immutable objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping
from zoneinfo import ZoneInfo

from hub.insights.answers import FORM_ATTRIBUTES
from hub.insights.rules import AlertRule
from hub.plugin.settings import Secret
from hub.plugin.types import RateLimit, Source
from hub.routing.routes import ActionSpec, DigestSpec, Route
from hub.timeofday import QuietHours

if TYPE_CHECKING:
    from limits import RateLimitItem

__all__ = ["ActionSpec", "BreakerPolicy", "ConnectionConfig", "ConsoleConfig", "ConsoleUser", "CustomersConfig",
           "DigestSpec", "EnrichmentPolicy", "HubConfig", "HubSettings", "MappedIdentifier", "MetricsSettings",
           "OAuthConfig", "PollSchedule", "QuietHours", "RateLimit", "RetryPolicy", "Route"]


@dataclass(frozen=True)
class RetryPolicy:
    """How a connection's failed deliveries are retried: exponential backoff with jitter, capped."""

    max_attempts: int = 6
    initial_delay: float = 2.0
    max_delay: float = 600.0
    jitter: float = 0.5


@dataclass(frozen=True)
class BreakerPolicy:
    """When a failing connection is paused: after this many retryable failures in a row, for this long."""

    failure_threshold: int = 5  # 0 turns the breaker off
    pause_seconds: float = 30.0


@dataclass(frozen=True)
class PollSchedule:
    """`sources.<name>.poll`: read the vendor's API every `every_seconds`, besides taking its webhooks."""

    every_seconds: float


@dataclass(frozen=True)
class EnrichmentPolicy:
    """How a source's thin events are enriched: at most `rate_limit` API calls, failures retried by `retry`."""

    rate_limit: RateLimitItem | None = None
    retry: RetryPolicy = RetryPolicy()


GRANTS = ("client_credentials", "refresh_token", "jwt_bearer")
CLIENT_AUTH_METHODS = ("client_secret_post", "client_secret_basic")


@dataclass(frozen=True)
class OAuthConfig:
    """`connections.<name>.oauth`: how the core gets the connection's access tokens (RFC 6749, RFC 7523).

    Secrets stay `Secret`s, so the repr of a config never shows one.
    """

    grant: str  # one of GRANTS
    token_url: str
    client_id: str
    client_secret: Secret | None = None
    refresh_token: Secret | None = None
    private_key: Secret | None = None  # jwt_bearer: the PEM RSA key that signs the assertion (RS256)
    subject: str | None = None  # jwt_bearer: the user the token acts for (`sub`)
    audience: str | None = None  # jwt_bearer: the authorization server (`aud`)
    scope: str | None = None
    client_auth: str = "client_secret_post"  # how the client secret is sent: in the form body, or HTTP Basic


@dataclass(frozen=True)
class ConnectionConfig:
    name: str
    plugin: str
    settings: Mapping[str, Any]
    retry: RetryPolicy = RetryPolicy()
    timeout: float = 10.0
    breaker: BreakerPolicy = BreakerPolicy()
    max_in_flight: int | None = None  # per worker process; by default half its threads
    oauth: OAuthConfig | None = None
    rate_limit: RateLimit | None = None  # the connection's own, else its plugin's default; shared by all workers
    zone: ZoneInfo = ZoneInfo("UTC")  # `timezone:`, the wall clock of its quiet hours and digest times
    quiet_hours: QuietHours | None = None  # when its messages to people wait (hub.noise.quiet)


@dataclass(frozen=True)
class HubSettings:
    max_body_bytes: int = 1024 * 1024
    queue: str = "cxhub"
    delivery_lease_seconds: int = 30  # a claim its worker stopped renewing this long ago is run again
    sweep_grace_seconds: int = 300  # a queued delivery untouched this long gets a new job
    sweep_interval_seconds: float = 5.0  # so an expired lease is noticed within seconds
    database_retry_seconds: float = 30.0  # a delivery that finds the database down waits this long
    retention_days: float = 30.0  # finished events older than this are deleted (0: keep everything)
    case_check_seconds: int = 30  # how often one worker follows the open cases and emits cx.case.overdue
    worker_threads: int = 4  # delivery threads per worker process (and in embedded mode)
    # where a webhook is durable before its 202: "database", "redis", or "auto": redis where Redis keeps the
    # promise (appendonly yes, appendfsync always, noeviction), else database; resolved when the app starts
    accept_into: str = "auto"
    dedupe_seconds: int = 86400  # with accept_into: redis, how long a resend is answered 200 at once
    intake_claim_seconds: float = 15.0  # an intake entry held this long by a consumer is taken over by another
    quarantine_max_rows: int = 10000  # open quarantined requests kept at most; past it new ones are dropped, counted
    annotators: tuple[str, ...] = ()  # plugins whose cxhub_annotate_event adds fields to every event, in order
    keep_requests: bool = True  # keep each accepted webhook's request (credentials removed) beside its events


@dataclass(frozen=True)
class ConsoleUser:
    """A named console user: a password hash (werkzeug.security) and a role."""

    name: str
    password_hash: str
    role: str  # viewer, operator (may replay, retry, pause) or admin


@dataclass(frozen=True)
class ConsoleConfig:
    """The web console at /console: on only when the config has a `console:` section."""

    secret_key: Secret  # signs the session cookie and the CSRF tokens
    users: Mapping[str, ConsoleUser] = field(default_factory=dict)
    admin_token: bool = True  # whether CXHUB_ADMIN_TOKEN signs in too (as an admin)
    session_minutes: int = 480  # a session older than this signs in again
    max_failed_sign_ins: int = 5  # per client address and per user name, per 15 minutes, then a wait


@dataclass(frozen=True)
class MappedIdentifier:
    """`customers.identifiers[]`: an event attribute that holds a customer id, in the admin's namespace."""

    attribute: str  # a key of data.attributes (dotted for nested values)
    namespace: str
    sources: tuple[str, ...] = ()  # only events of these sources (all when empty)


@dataclass(frozen=True)
class CustomersConfig:
    """`customers:`: how events are attached to customer profiles (see hub/profiles and docs/customers.md)."""

    identifiers: tuple[MappedIdentifier, ...] = ()
    priority: tuple[str, ...] = ()  # identifier kinds, highest first; unlisted kinds follow in the default order
    limits: Mapping[str, int] = field(default_factory=dict)  # most values of a kind one profile holds
    email_limit: int = 5
    id_limit: int = 1  # per namespace, unless `limits` says otherwise
    never_merge_values: tuple[str, ...] = ()  # added to the built-in list unless builtin_never_merge is false
    never_merge_emails: tuple[str, ...] = ()  # addresses or patterns with *
    builtin_never_merge: bool = True
    namespaces: Mapping[str, str] = field(default_factory=dict)  # source name -> namespace of its customer ids
    resolve_interval_seconds: float = 1.0  # how often a worker looks for events to attach when idle

    def limit(self, kind: str) -> int:
        return self.limits.get(kind, self.email_limit if kind == "email" else self.id_limit)


@dataclass(frozen=True)
class MetricsSettings:
    """`metrics:`: the admin's timezone for days, weeks and months, and how the counts are kept (docs/metrics.md)."""

    timezone: str = "UTC"
    form_attributes: tuple[str, ...] = FORM_ATTRIBUTES  # the first of these attributes an event has is its form
    fold_seconds: float = 5.0  # how often a worker adds newly stored responses to the counts
    alert_seconds: float = 60.0  # alert rules are evaluated after each fold that counted something, and this often


@dataclass(frozen=True)
class HubConfig:
    hub: HubSettings = HubSettings()
    sources: Mapping[str, Source] = field(default_factory=dict)
    rate_limits: Mapping[str, RateLimitItem] = field(default_factory=dict)  # by source name
    source_tokens: Mapping[str, Secret] = field(default_factory=dict)  # by source name: its `?token=`
    polls: Mapping[str, PollSchedule] = field(default_factory=dict)  # by source name
    enrichment: Mapping[str, EnrichmentPolicy] = field(default_factory=dict)  # sources whose plugin enriches
    connections: Mapping[str, ConnectionConfig] = field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    console: ConsoleConfig | None = None
    customers: CustomersConfig = CustomersConfig()
    metrics: MetricsSettings = MetricsSettings()
    alerts: tuple[AlertRule, ...] = ()
    path: str = "<config>"
