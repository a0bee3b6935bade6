"""Configuration problems, each pinned to a file, a line and a key path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

Path = tuple[Any, ...]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: Path
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        key = format_path(self.path)
        return f"{where}: {key}: {self.message}" if key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The config is invalid; `problems` lists every one found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


def format_path(path: Path) -> str:
    """`("routes", 0, "actions", 1, "connection")` -> `routes[0].actions[1].connection`."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def flatten_errors(errors: Any, prefix: Path = (), whole: bool = False) -> Iterable[tuple[Path, str, bool]]:
    """Turn marshmallow's nested error dict into (path, message, whole) triples.

    `whole` is true for a schema-level error (marshmallow's `_schema`), which judges the
    mapping at `path` as a whole rather than one of its keys.
    """
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            if key == "_schema":
                yield from flatten_errors(value, prefix, True)
            else:
                yield from flatten_errors(value, prefix + (key,))
    elif isinstance(errors, list):
        for item in errors:
            yield from flatten_errors(item, prefix, whole)
    else:
        yield prefix, str(errors), whole
