"""Form bodies as nested fields, so one `mapping` of dotted paths reads JSON and form webhooks alike."""

from __future__ import annotations

from typing import Any, Mapping

from hub.plugin import UnrecognizedPayload


def nest_form(fields: Mapping[str, list[str]]) -> dict[str, Any]:
    """`response[id]=7&response[tags][]=a` becomes `{"response": {"id": "7", "tags": ["a"]}}`.

    Bracketed keys (the convention of Rails, Rack and PHP senders) become nested objects, a
    trailing `[]` or a repeated key a list; everything else is one string. A key that is both a
    value and a group (`a=1&a[b]=2`) makes the payload one the mapping cannot read.
    """
    nested: dict[str, Any] = {}
    for key, values in fields.items():
        parts = key.replace("]", "").split("[")
        as_list = parts[-1] == "" and len(parts) > 1
        if as_list:
            parts.pop()
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UnrecognizedPayload(f"form field {key!r} nests under a field that holds a value")
        if isinstance(node.get(parts[-1]), dict):
            raise UnrecognizedPayload(f"form field {key!r} is both a value and a group of fields")
        node[parts[-1]] = list(values) if as_list or len(values) > 1 else values[0]
    return nested
