"""Marshmallow schemas for the config file's own structure (plugins validate their settings)."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from limits import RateLimitItem, parse

from hub.config.model import (
    CLIENT_AUTH_METHODS,
    GRANTS,
    BreakerPolicy,
    ConsoleConfig,
    ConsoleUser,
    CustomersConfig,
    HubSettings,
    MappedIdentifier,
    MetricsSettings,
    OAuthConfig,
    PollSchedule,
    RetryPolicy,
)
from hub.config.oauth_keys import check_private_key, check_token_url
from hub.insights.buckets import BadQuery, parse_timezone
from hub.insights.definitions import METRICS
from hub.plugin.settings import SecretField, SettingsSchema
from hub.plugin.types import RateLimit
from hub.events.canonical import TEST_SOURCE
from hub.routing.conditions import MATCH_ALL, Condition, compile_condition
from hub.timeofday import DAYS, parse_time_of_day, parse_zone
from hub.routing.routes import CaseSpec

# the source of the console's test events (hub/testsend.py): no configured source may look like them
RESERVED_SOURCE = validate.NoneOf([TEST_SOURCE], error=f"{TEST_SOURCE} is the source of the console's test "
                                                       "deliveries; give this source another name")
NAME = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,63}$", error="names use a-z, 0-9, '-' and '_' (at most 64 characters)")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class HubSettingsSchema(StrictSchema):
    max_body_bytes = fields.Integer(load_default=HubSettings.max_body_bytes,
                                    validate=validate.Range(min=1024, max=64 * 1024 * 1024))
    queue = fields.String(load_default=HubSettings.queue, validate=NAME)
    delivery_lease_seconds = fields.Integer(load_default=HubSettings.delivery_lease_seconds,
                                            validate=validate.Range(min=3, max=86400))
    sweep_grace_seconds = fields.Integer(load_default=HubSettings.sweep_grace_seconds,
                                         validate=validate.Range(min=1, max=86400))
    sweep_interval_seconds = fields.Float(load_default=HubSettings.sweep_interval_seconds,
                                          validate=validate.Range(min=0.1, max=3600))
    database_retry_seconds = fields.Float(load_default=HubSettings.database_retry_seconds,
                                          validate=validate.Range(min=0.1, max=3600))
    retention_days = fields.Float(load_default=HubSettings.retention_days, validate=validate.Range(min=0))
    case_check_seconds = fields.Integer(load_default=HubSettings.case_check_seconds,
                                        validate=validate.Range(min=1, max=3600))
    worker_threads = fields.Integer(load_default=HubSettings.worker_threads, validate=validate.Range(min=1, max=256))
    accept_into = fields.String(load_default=HubSettings.accept_into, validate=validate.OneOf(["auto", "database", "redis"]))
    dedupe_seconds = fields.Integer(load_default=HubSettings.dedupe_seconds,
                                    validate=validate.Range(min=60, max=90 * 86400))
    intake_claim_seconds = fields.Float(load_default=HubSettings.intake_claim_seconds,
                                        validate=validate.Range(min=1, max=86400))
    quarantine_max_rows = fields.Integer(load_default=HubSettings.quarantine_max_rows,
                                         validate=validate.Range(min=1, max=10_000_000))
    keep_requests = fields.Boolean(load_default=HubSettings.keep_requests)
    # plugin names; the loader checks each is installed and implements cxhub_annotate_event
    annotators = fields.List(fields.String(validate=NAME), load_default=list, validate=validate.Length(max=16))

    @validates_schema
    def annotators_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        names = data.get("annotators", [])
        if len(set(names)) != len(names):
            raise ValidationError("an annotator is named twice", "annotators")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> HubSettings:
        return HubSettings(**{**data, "annotators": tuple(data.get("annotators", ()))})


class RetrySchema(StrictSchema):
    max_attempts = fields.Integer(load_default=RetryPolicy.max_attempts, validate=validate.Range(min=1, max=100))
    initial_delay = fields.Float(load_default=RetryPolicy.initial_delay, validate=validate.Range(min=0))
    max_delay = fields.Float(load_default=RetryPolicy.max_delay, validate=validate.Range(min=0, max=86400))
    jitter = fields.Float(load_default=RetryPolicy.jitter, validate=validate.Range(min=0, max=1))

    @validates_schema
    def delays_in_order(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["max_delay"] < data["initial_delay"]:
            raise ValidationError("max_delay must be at least initial_delay", "max_delay")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> RetryPolicy:
        return RetryPolicy(**data)


class BreakerSchema(StrictSchema):
    failure_threshold = fields.Integer(load_default=BreakerPolicy.failure_threshold,
                                       validate=validate.Range(min=0, max=10000))
    pause_seconds = fields.Float(load_default=BreakerPolicy.pause_seconds, validate=validate.Range(min=0.1, max=86400))

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> BreakerPolicy:
        return BreakerPolicy(**data)


class RateField(fields.Field):
    """A rate such as `100/second` or `6000 per minute`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> RateLimitItem:
        try:
            return parse(str(value))
        except ValueError:
            raise ValidationError(f"{value!r} is not a rate; write it like 100/second or 6000 per minute") from None


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_POLL_SECONDS, MAX_POLL_SECONDS = 60, 86400


class DurationField(fields.Field):
    """A duration such as `30s`, `15m`, `1h` or `1d` (a whole number and one unit), in seconds."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
        number, unit = text[:-1], text[-1:]
        if not (number.isascii() and number.isdigit()) or unit not in DURATION_UNITS:
            raise ValidationError(f"{value!r} is not a duration; write it like 30s, 15m, 1h or 1d")
        return float(int(number) * DURATION_UNITS[unit])


class PollSchema(StrictSchema):
    every = DurationField(required=True, validate=validate.Range(
        min=MIN_POLL_SECONDS, max=MAX_POLL_SECONDS, error="polls run between every 1m and every 1d"))

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> PollSchedule:
        return PollSchedule(every_seconds=data["every"])


class SourceSchema(StrictSchema):
    plugin = fields.String(required=True)
    settings = fields.Dict(keys=fields.String(), load_default=dict)
    rate_limit = RateField(load_default=None)
    token = SecretField(load_default=None)  # every request must then carry ?token=<value>
    poll = fields.Nested(PollSchema, load_default=None)
    api_rate_limit = RateField(load_default=None)  # calls to the vendor's API while enriching thin events
    api_retry = fields.Nested(RetrySchema, load_default=RetryPolicy)  # retries of a failed enrichment


class ScopeField(fields.Field):
    """`scope`: one space-separated string or a list of scope names (RFC 6749 section 3.3)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        names = value.split() if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(name, str) and name
                                                             and name.isprintable() and " " not in name
                                                             and '"' not in name and "\\" not in name
                                                             for name in names):
            raise ValidationError("write scope as one space-separated string or a list of scope names")
        return " ".join(names)


# The keys each grant reads besides grant, token_url, client_id, scope and client_auth.
GRANT_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "client_credentials": {"required": ("client_secret",), "optional": ()},
    "refresh_token": {"required": ("refresh_token",), "optional": ("client_secret",)},
    "jwt_bearer": {"required": ("private_key", "subject", "audience"), "optional": ()},
}


class OAuthSchema(SettingsSchema):
    """`connections.<name>.oauth`. A SettingsSchema: `{$env: NAME}` works for any key, and secrets need it."""

    grant = fields.String(required=True, validate=validate.OneOf(GRANTS))
    token_url = fields.String(required=True, validate=check_token_url)
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    client_secret = SecretField(load_default=None)
    refresh_token = SecretField(load_default=None)
    private_key = SecretField(load_default=None, validate=check_private_key)
    subject = fields.String(load_default=None, validate=validate.Length(min=1, max=1000))
    audience = fields.String(load_default=None, validate=validate.Length(min=1, max=1000))
    scope = ScopeField(load_default=None)
    client_auth = fields.String(load_default="client_secret_post", validate=validate.OneOf(CLIENT_AUTH_METHODS))

    @validates_schema(skip_on_field_errors=False)  # a missing key is reported beside a bad one
    def keys_of_the_grant(self, data: dict[str, Any], **kwargs: Any) -> None:
        keys = GRANT_KEYS.get(data.get("grant", ""))
        if keys is None:
            return
        errors: dict[str, list[str]] = {}
        for key in keys["required"]:
            if data.get(key) is None:
                errors[key] = [f"the {data['grant']} grant needs {key}"]
        for key in ("client_secret", "refresh_token", "private_key", "subject", "audience"):
            if data.get(key) is not None and key not in keys["required"] + keys["optional"]:
                errors[key] = [f"the {data['grant']} grant does not use {key}: remove it"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> OAuthConfig:
        return OAuthConfig(**data)


class ConnectionRateLimitSchema(StrictSchema):
    """`rate_limit: {requests: 100, per: 10s}`: the vendor's limit, shared by every worker."""

    requests = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000))
    per = DurationField(required=True, validate=validate.Range(min=1, max=86400, error="per is between 1s and 1d"))

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> RateLimit:
        return RateLimit(data["requests"], int(data["per"]))


class TimeOfDayField(fields.Field):
    """A wall-clock time on the 24-hour clock, `HH:MM`."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return parse_time_of_day(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None


class TimesOfDayField(fields.Field):
    """One `HH:MM` or a list of them (at most 24, each once), in order."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        items = value if isinstance(value, list) else [value]
        if not 1 <= len(items) <= 24:
            raise ValidationError("give one to 24 times of day")
        try:
            times = [parse_time_of_day(item) for item in items]
        except ValueError as error:
            raise ValidationError(str(error)) from None
        if len(set(times)) != len(times):
            raise ValidationError("a time of day is given twice")
        return tuple(sorted(times))


class ZoneField(fields.Field):
    """An IANA timezone name, checked against the zoneinfo database."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        try:
            return parse_zone(value)
        except ValueError as error:
            raise ValidationError(str(error)) from None


def Days(**kwargs: Any) -> fields.List:  # noqa: N802 - a field factory, read like a field class
    return fields.List(fields.String(validate=validate.OneOf(DAYS, error="days are written " + ", ".join(DAYS))),
                       validate=validate.Length(min=1, max=7), **kwargs)


class QuietHoursSchema(StrictSchema):
    """`quiet_hours: {from: "20:00", to: "08:00", timezone: Europe/Paris, days: [...], all_day: [sat, sun]}`."""

    start = TimeOfDayField(required=True, data_key="from")
    end = TimeOfDayField(required=True, data_key="to")
    timezone = ZoneField(load_default=None)  # else the connection's timezone
    days = Days(load_default=list(DAYS))
    all_day = Days(load_default=list)

    @validates_schema
    def a_real_period(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "start" in data and data["start"] == data.get("end"):
            raise ValidationError("from and to are the same time: the quiet period would be empty (to be quiet all "
                                  "day, use all_day: [mon, ...])", "to")
        for key in ("days", "all_day"):
            if len(set(data.get(key, ()))) != len(data.get(key, ())):
                raise ValidationError("a day is named twice", key)


MAX_DIGEST_ITEMS = 200


class DigestSchema(StrictSchema):
    """`digest: {every: 1h}` or `digest: {at: "09:00"}` (or a list of times), with `max_items` listed."""

    every = DurationField(validate=validate.Range(min=1, max=7 * 86400,
                                                  error="a digest window is between 1s and 7d"))
    at = TimesOfDayField()
    max_items = fields.Integer(load_default=50, strict=True,
                               validate=validate.Range(min=1, max=MAX_DIGEST_ITEMS,
                                                       error=f"max_items is between 1 and {MAX_DIGEST_ITEMS}"))

    @validates_schema
    def one_schedule(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("every" in data) == ("at" in data):
            raise ValidationError("give either every (a window such as 1h) or at (times of day such as \"09:00\")")


class ConnectionSchema(StrictSchema):
    plugin = fields.String(required=True)
    settings = fields.Dict(keys=fields.String(), load_default=dict)
    retry = fields.Nested(RetrySchema, load_default=RetryPolicy)
    timeout = fields.Float(load_default=10.0, validate=validate.Range(min=0.1, max=300))
    circuit_breaker = fields.Nested(BreakerSchema, load_default=BreakerPolicy)
    max_in_flight = fields.Integer(load_default=None, validate=validate.Range(min=1, max=256))
    oauth = fields.Nested(OAuthSchema, load_default=None)
    rate_limit = fields.Nested(ConnectionRateLimitSchema, load_default=None)
    timezone = ZoneField(load_default=None)
    quiet_hours = fields.Nested(QuietHoursSchema, load_default=None)


class ConditionField(fields.Field):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Condition:
        return compile_condition(value)


MIN_ONCE_SECONDS, MAX_ONCE_SECONDS = 60, 366 * 86400


class OncePerSchema(StrictSchema):
    """`once_per: {key: TEMPLATE, within: DURATION}` (hub/delivery/once.py)."""

    key = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    within = DurationField(required=True, validate=validate.Range(
        min=MIN_ONCE_SECONDS, max=MAX_ONCE_SECONDS, error="within is between 1m and 366d"))


class OtherwiseSchema(StrictSchema):
    """`otherwise: {action: NAME, params: {...}}`: another action of the same connection."""

    action = fields.String(required=True)
    params = fields.Dict(keys=fields.String(), load_default=dict)


class ActionSchema(StrictSchema):
    connection = fields.String(required=True)
    action = fields.String(required=True)
    params = fields.Dict(keys=fields.String(), load_default=dict)
    digest = fields.Nested(DigestSchema, load_default=None)
    once_per = fields.Nested(OncePerSchema, load_default=None)
    otherwise = fields.Nested(OtherwiseSchema, load_default=None)

    @validates_schema
    def otherwise_needs_once_per(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("otherwise") is not None and data.get("once_per") is None:
            raise ValidationError("otherwise applies only to an action with once_per", "otherwise")


class SlaSchema(StrictSchema):
    first_response = DurationField(load_default=None, validate=validate.Range(
        min=60, max=MAX_ONCE_SECONDS, error="first_response is between 1m and 366d"))
    close = DurationField(load_default=None, validate=validate.Range(
        min=60, max=MAX_ONCE_SECONDS, error="close is between 1m and 366d"))


class CaseSchema(StrictSchema):
    """`case: {owner: TEMPLATE, sla: {first_response: 24h, close: 72h}}` on a route (hub/cases)."""

    owner = fields.String(load_default=None, validate=validate.Length(min=1, max=320))
    sla = fields.Nested(SlaSchema, load_default=dict)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> CaseSpec:
        sla = data["sla"] or {}
        return CaseSpec(data["owner"], sla.get("first_response"), sla.get("close"))


class RouteSchema(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    when = ConditionField(load_default=MATCH_ALL)
    # Each action is loaded on its own (ActionSchema), so one bad action hides nothing about the others.
    actions = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))
    # true or false only: YAML's yes/no/on/off are already booleans, and a quoted "yes" is a typo
    run_on_updates = fields.Boolean(load_default=False, truthy={True}, falsy={False})
    shadow = fields.Boolean(load_default=False, truthy={True}, falsy={False})  # matched, rendered, recorded, never sent
    # at most this many matching events per rolling hour are delivered; the rest are held for review
    max_per_hour = fields.Integer(load_default=None, strict=True, validate=validate.Range(
        min=1, max=1_000_000, error="max_per_hour is a whole number of events from 1 to 1000000"))
    case = fields.Nested(CaseSchema, load_default=None)  # each event the route runs for opens a case


ROLES = ("viewer", "operator", "admin")
PASSWORD_HASH = validate.Regexp(r"^(scrypt|pbkdf2):[^$]+\$[^$]+\$[0-9a-f]+$",
                                error="a password hash made by `cxhub console hash-password` (scrypt:... or pbkdf2:...)")


class ConsoleUserSchema(StrictSchema):
    password_hash = fields.String(required=True, validate=PASSWORD_HASH)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class ConsoleSchema(StrictSchema):
    secret_key = SecretField(required=True)
    users = fields.Dict(keys=fields.String(validate=NAME), values=fields.Nested(ConsoleUserSchema), load_default=dict)
    admin_token = fields.Boolean(load_default=True, truthy={True}, falsy={False})
    session_minutes = fields.Integer(load_default=480, validate=validate.Range(min=1, max=30 * 24 * 60))
    max_failed_sign_ins = fields.Integer(load_default=5, validate=validate.Range(min=1, max=1000))

    @validates_schema
    def long_secret(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "secret_key" in data and len(data["secret_key"].reveal()) < 32:
            raise ValidationError("the console's secret key must be at least 32 characters", "secret_key")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> ConsoleConfig:
        users = {name: ConsoleUser(name, entry["password_hash"], entry["role"]) for name, entry in data["users"].items()}
        return ConsoleConfig(**{**data, "users": users})


NAMESPACE = validate.Regexp(r"^[a-z0-9][a-z0-9_.-]{0,63}$",
                            error="namespaces use a-z, 0-9, '.', '-' and '_' (at most 64 characters)")


def _not_email(value: str) -> None:
    if value == "email":
        raise ValidationError("'email' is the kind of email addresses; give the namespace another name")


class MappedIdentifierSchema(StrictSchema):
    attribute = fields.String(required=True, validate=validate.Length(min=1, max=200))
    namespace = fields.String(required=True, validate=[NAMESPACE, _not_email])
    sources = fields.List(fields.String(validate=NAME), load_default=list)

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> MappedIdentifier:
        return MappedIdentifier(data["attribute"], data["namespace"], tuple(data["sources"]))


class NeverMergeSchema(StrictSchema):
    values = fields.List(fields.String(validate=validate.Length(max=512)), load_default=list)
    emails = fields.List(fields.String(validate=validate.Length(min=1, max=320)), load_default=list)
    builtin = fields.Boolean(load_default=True, truthy={True}, falsy={False})


LIMIT = validate.Range(min=1, max=1000)


class CustomersSchema(StrictSchema):
    identifiers = fields.List(fields.Nested(MappedIdentifierSchema), load_default=list)
    priority = fields.List(fields.String(validate=NAMESPACE), load_default=list)
    limits = fields.Dict(keys=fields.String(validate=NAMESPACE), values=fields.Integer(validate=LIMIT),
                         load_default=dict)
    never_merge = fields.Nested(NeverMergeSchema, load_default=lambda: NeverMergeSchema().load({}))
    namespaces = fields.Dict(keys=fields.String(validate=NAME), values=fields.String(validate=[NAMESPACE, _not_email]),
                             load_default=dict)
    resolve_interval_seconds = fields.Float(load_default=CustomersConfig.resolve_interval_seconds,
                                            validate=validate.Range(min=0.05, max=3600))

    @validates_schema
    def kinds_once(self, data: dict[str, Any], **kwargs: Any) -> None:
        priority = data.get("priority", [])
        if len(set(priority)) != len(priority):
            raise ValidationError("an identifier kind is named twice", "priority")

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> CustomersConfig:
        limits = dict(data["limits"])
        never = data["never_merge"]
        return CustomersConfig(
            identifiers=tuple(data["identifiers"]), priority=tuple(data["priority"]),
            limits={kind: count for kind, count in limits.items() if kind not in ("email", "default")},
            email_limit=limits.get("email", CustomersConfig.email_limit),
            id_limit=limits.get("default", CustomersConfig.id_limit),
            never_merge_values=tuple(never["values"]), never_merge_emails=tuple(never["emails"]),
            builtin_never_merge=never["builtin"], namespaces=dict(data["namespaces"]),
            resolve_interval_seconds=data["resolve_interval_seconds"])


def _timezone(name: str) -> None:
    try:
        parse_timezone(name)
    except BadQuery as error:
        raise ValidationError(error.message) from None


class MetricsSchema(StrictSchema):
    timezone = fields.String(load_default=MetricsSettings.timezone, validate=_timezone)
    form_attributes = fields.List(fields.String(validate=validate.Length(min=1, max=128)),
                                  load_default=lambda: list(MetricsSettings.form_attributes),
                                  validate=validate.Length(max=16))
    fold_seconds = fields.Float(load_default=MetricsSettings.fold_seconds, validate=validate.Range(min=0.1, max=3600))
    alert_seconds = fields.Float(load_default=MetricsSettings.alert_seconds, validate=validate.Range(min=1, max=86400))

    @post_load
    def build(self, data: dict[str, Any], **kwargs: Any) -> MetricsSettings:
        return MetricsSettings(**{**data, "form_attributes": tuple(data["form_attributes"])})


class AlertRuleSchema(StrictSchema):
    """One `alerts:` rule's keys; hub.insights.rules.compile_rule checks how they combine."""

    name = fields.String(required=True, validate=NAME)
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    window = fields.String(required=True)
    below = fields.Float(allow_nan=False)
    above = fields.Float(allow_nan=False)
    drop = fields.Float(allow_nan=False, validate=validate.Range(min=0, min_inclusive=False))
    at_least = fields.Integer(strict=True, validate=validate.Range(min=1, max=100_000))
    count = fields.String()
    per = fields.String()
    min_responses = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1, max=1_000_000))
    source = fields.String(validate=NAME)
    form = fields.String(validate=validate.Length(min=1, max=512))
    attributes = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=128)),
                             values=fields.String(validate=validate.Length(max=512)), validate=validate.Length(max=5))


class ConfigSchema(StrictSchema):
    hub = fields.Nested(HubSettingsSchema, load_default=HubSettings)
    console = fields.Nested(ConsoleSchema, load_default=None, allow_none=True)
    customers = fields.Nested(CustomersSchema, load_default=CustomersConfig)
    sources = fields.Dict(keys=fields.String(validate=NAME), values=fields.Raw(), load_default=dict)
    connections = fields.Dict(keys=fields.String(validate=NAME), values=fields.Raw(), load_default=dict)
    routes = fields.List(fields.Nested(RouteSchema), load_default=list)
    metrics = fields.Nested(MetricsSchema, load_default=MetricsSettings)
    alerts = fields.List(fields.Raw(), load_default=list)  # each rule loaded on its own (AlertRuleSchema)

    @validates_schema
    def unique_route_names(self, data: dict[str, Any], **kwargs: Any) -> None:
        names = [route["name"] for route in data.get("routes", [])]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValidationError(f"route names must be unique; repeated: {', '.join(duplicates)}", "routes")
