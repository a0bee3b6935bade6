"""Marshmallow building blocks for plugin settings, with secrets that never print.

In YAML a value written `{$env: NAME}` is read from the environment. A field declared
`SecretField()` accepts only such references, so a secret can never sit inline in a
config file, and it loads as a `Secret` whose repr hides the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load


@dataclass(frozen=True)
class EnvValue:
    """A config value that came from environment variable `name`."""

    name: str
    value: str

    def __repr__(self) -> str:
        return f"EnvValue(${self.name})"


class Secret:
    """A secret value: `reveal()` gives it; `repr`, `str` and logs only name its variable."""

    __slots__ = ("_value", "env_name")

    def __init__(self, value: str, env_name: str) -> None:
        self._value = value
        self.env_name = env_name

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret(${self.env_name})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SecretField(fields.Field[Secret]):
    """A setting that must be written `{$env: NAME}` and loads as a `Secret`."""

    default_error_messages = {
        "inline": "secrets must come from the environment: write {{$env: NAME}} instead of the value",
        "empty": "environment variable {name} is empty",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Secret:
        if not isinstance(value, EnvValue):
            raise self.make_error("inline")
        if not value.value:
            raise self.make_error("empty", name=value.name)
        return Secret(value.value, value.name)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str:
        return "********"


class SecretList(fields.Field[list[Secret]]):
    """One secret or a list of them, each `{$env: NAME}`, loaded as a list of `Secret`.

    For a secret that is rotated with no downtime: the new one is added beside the old one,
    then the old one is removed.
    """

    default_error_messages = {"empty": "give at least one secret"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inner = SecretField()

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> list[Secret]:
        if not isinstance(value, list):
            return [self.inner.deserialize(value)]
        if not value:
            raise self.make_error("empty")
        secrets, errors = [], {}
        for index, item in enumerate(value):
            try:
                secrets.append(self.inner.deserialize(item))
            except ValidationError as error:
                errors[index] = error.messages
        if errors:
            raise ValidationError(errors)
        return secrets

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str:
        return "********"


def active_secrets(settings: Mapping[str, Any], *names: str) -> list[str]:
    """The revealed values of the named secret settings that are set (default: secret, previous_secret).

    Verifiers accept any of them, so a vendor's secret can be rotated with a grace period.
    """
    return [value.reveal() for name in names or ("secret", "previous_secret")
            if isinstance(value := settings.get(name), Secret)]


def _plain(value: Any, field: fields.Field[Any] | None) -> Any:
    """Unwrap `EnvValue`s for every field that is not a secret."""
    if isinstance(field, (SecretField, SecretList)):
        return value
    if isinstance(value, EnvValue):
        return value.value
    if isinstance(value, list):
        inner = field.inner if isinstance(field, fields.List) else None
        return [_plain(item, inner) for item in value]
    return value


def unwrap_env(value: Any) -> Any:
    """Plain data with every `EnvValue` replaced by its value (for params and conditions)."""
    if isinstance(value, EnvValue):
        return value.value
    if isinstance(value, Mapping):
        return {key: unwrap_env(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap_env(item) for item in value]
    return value


class SettingsSchema(Schema):
    """Base class for plugin settings and action parameters: unknown keys are errors."""

    class Meta:
        unknown = RAISE

    @pre_load
    def _unwrap_env_values(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        by_key = {field.data_key or name: field for name, field in self.load_fields.items()}
        return {key: _plain(value, by_key.get(key)) for key, value in data.items()}


__all__ = ["active_secrets", "EnvValue", "Secret", "SecretField", "SecretList", "SettingsSchema", "ValidationError",
           "fields"]
