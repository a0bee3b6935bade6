"""Builds canonical CloudEvents from plugin drafts and validates them against the JSON Schema."""

from __future__ import annotations

import json
import uuid
from datetime import timezone
from functools import lru_cache, partial
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Mapping

from hub.events.storable import unstorable_field
from hub.plugin.types import EventDraft

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

SCHEMA_ID = "urn:cxhub:schema:customer-event:1"
SCHEMA_FILE = "customer-event.schema.json"
EVENT_ID_NAMESPACE = uuid.UUID("6f1d6c1e-8f63-4f7e-9f55-0c8e1a3b7d21")
TEST_SOURCE = "cxhub-console"  # the source of the console's test events (hub/testsend.py); reserved in the config


class InvalidEvent(Exception):
    """An event does not follow the canonical schema: a plugin bug, never the sender's fault."""


class UnstorableEvent(InvalidEvent):
    """An event holds what some backend cannot store (a NUL, an over-long id): the sender's data, not a bug."""


@lru_cache(maxsize=1)
def event_schema() -> dict[str, Any]:
    return json.loads(resources.files("schemas").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def event_validator() -> Draft202012Validator:
    """Built on first use: importing jsonschema with its format checkers takes a while, and only
    the processes that validate events should pay for it. Serving processes call it at start-up,
    so the first webhook does not wait for it."""
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(event_schema(), format_checker=FormatChecker())


# The schema's keywords (type, properties, required, enum, const, pattern, min/maxLength,
# minimum/maximum, oneOf, additionalProperties, $ref without siblings) mean the same in draft 7,
# which fastjsonschema compiles, as in 2020-12; a test holds the schema to that list.
FAST_DRAFT = "http://json-schema.org/draft-07/schema#"


def compiled_check(schema: Mapping[str, Any]) -> Callable[[Any], Any]:
    """`schema` compiled to Python by fastjsonschema, formats checked by jsonschema's own checkers.

    It raises on the first error without saying it as clearly, so it only lets valid values
    through quickly (about 30 µs an event, against 400 for jsonschema); jsonschema, the
    authority, then names what is wrong with the others. The format checkers are the same
    functions, so a value passes one only if it passes the other.
    """
    import fastjsonschema
    from jsonschema import FormatChecker

    checker = FormatChecker()
    formats = {name: partial(checker.conforms, format=name) for name in checker.checkers}
    return fastjsonschema.compile({**schema, "$schema": FAST_DRAFT}, formats=formats)


@lru_cache(maxsize=1)
def _fast_event_check() -> Callable[[Any], Any]:
    return compiled_check(event_schema())


def prepare_validators() -> None:
    """Build both validators now (serving processes, at start-up) rather than on the first webhook."""
    event_validator()
    _fast_event_check()


def _passes(check: Callable[[Any], Any], value: Any) -> bool:
    from fastjsonschema import JsonSchemaException

    try:
        check(value)
    except JsonSchemaException:
        return False
    return True


def validate_event(event: dict[str, Any]) -> None:
    """Raise InvalidEvent naming the first offending field (checked fast first: nearly every event is valid)."""
    if _passes(_fast_event_check(), event):
        return
    error = next(iter(event_validator().iter_errors(event)), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise InvalidEvent(f"{where}: {error.message}")


ANNOTATIONS = ("sentiment",)  # the keys of `data` an annotator may add (hub.annotators); each has a $defs schema


def _annotation_schema(key: str) -> dict[str, Any]:
    return {"$defs": event_schema()["$defs"], "$ref": f"#/$defs/{key}"}


@lru_cache(maxsize=len(ANNOTATIONS))
def _annotation_validator(key: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(_annotation_schema(key), format_checker=FormatChecker())


@lru_cache(maxsize=len(ANNOTATIONS))
def _fast_annotation_check(key: str) -> Callable[[Any], Any]:
    return compiled_check(_annotation_schema(key))


def validate_annotation(key: str, value: Any) -> None:
    """Raise InvalidEvent unless `value` is what the schema allows for `data.<key>`, an annotation."""
    if key not in ANNOTATIONS:
        raise InvalidEvent(f"data.{key}: not an annotation (annotators may add: {', '.join(ANNOTATIONS)})")
    if _passes(_fast_annotation_check(key), value):
        return
    error = next(iter(_annotation_validator(key).iter_errors(value)), None)
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path)
        raise InvalidEvent(f"data.{key}{'/' + where if where else ''}: {error.message}")


def event_id(source_name: str, vendor_event_id: str) -> str:
    """The CloudEvent id: the same vendor event on the same source always gets the same id."""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{source_name}\n{vendor_event_id}"))


def build_event(source_name: str, draft: EventDraft) -> dict[str, Any]:
    """Wrap a draft in its CloudEvents 1.0 envelope; raise UnstorableEvent if a backend could not keep it.

    The storability check runs here, on the web side, under either `hub.accept_into`: a request
    whose event cannot be stored is answered 422 and quarantined at once, never accepted first.
    """
    event = _envelope(source_name, draft)
    problem = unstorable_field(event)
    if problem:
        raise UnstorableEvent(problem)
    return event


def _envelope(source_name: str, draft: EventDraft) -> dict[str, Any]:
    link = draft.link
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id(source_name, draft.vendor_event_id),
        "source": f"/sources/{source_name}",
        "type": draft.type,
        "time": draft.time.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "subject": link.id,
        "datacontenttype": "application/json",
        "dataschema": SCHEMA_ID,
        "data": {
            "customer": {"id": draft.customer.id, "email": draft.customer.email, "name": draft.customer.name},
            "score": draft.score.to_dict() if draft.score else None,
            "text": draft.text,
            "link": {"system": link.system, "id": link.id, "url": link.url, "type": link.type},
            "vendor_event_id": draft.vendor_event_id,
            "attributes": dict(draft.attributes),
            "update": draft.update,
        },
    }
    if draft.parent is not None:  # only when the vendor names one: events without it stay as they were
        parent = draft.parent
        event["data"]["parent"] = {"system": parent.system, "id": parent.id, "url": parent.url, "type": parent.type}
    return event


ObjectKey = tuple[str, str, str]


def object_key(event: Mapping[str, Any]) -> ObjectKey:
    """The object an event is about: its source, its kind and its subject (the vendor object's id).

    The kind is the event type without its last part, so `cx.review.created` and
    `cx.review.updated` are about the same review, and a contact and a survey response that
    share an id in the vendor's system are still two objects.
    """
    return event["source"].rsplit("/", 1)[-1], object_kind(event["type"]), event["subject"]


def object_kind(event_type: str) -> str:
    """`cx.review` for `cx.review.created` and `cx.review.updated`; `cx.survey` for `cx.survey.response`."""
    return event_type.rsplit(".", 1)[0]
