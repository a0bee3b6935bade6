"""Reads a YAML config into plain data, resolving `{$env: NAME}` and remembering each key's line."""

from __future__ import annotations

from typing import Any, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from hub.config.problems import Path, Problem
from hub.plugin.settings import EnvValue

ENV_KEY = "$env"


class LineIndex:
    """Line numbers (1-based) of every key and list item of a YAML document, by key path."""

    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that exists in the file."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def read_yaml(text: str, filename: str, environ: Mapping[str, str]) -> tuple[Any, LineIndex, list[Problem]]:
    """Parse `text`; return plain data, its line index and the problems met (bad YAML, missing env vars)."""
    index = LineIndex()
    try:
        document = YAML(typ="rt").load(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        message = " ".join(part for part in (error.context, error.problem) if part)
        return None, index, [Problem(filename, line, (), f"invalid YAML: {message}")]
    except YAMLError as error:
        return None, index, [Problem(filename, None, (), f"invalid YAML: {error}")]
    problems: list[Problem] = []
    data = _plain(document, (), index, environ, problems, filename)
    return data, index, problems


def _plain(node: Any, path: Path, index: LineIndex, environ: Mapping[str, str],
           problems: list[Problem], filename: str) -> Any:
    if isinstance(node, CommentedMap):
        if ENV_KEY in node:
            return _env_value(node, path, index, environ, problems, filename)
        result = {}
        for key in node:
            index.lines[path + (key,)] = node.lc.key(key)[0] + 1
            result[key] = _plain(node[key], path + (key,), index, environ, problems, filename)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for position, item in enumerate(node):
            index.lines[path + (position,)] = node.lc.item(position)[0] + 1
            items.append(_plain(item, path + (position,), index, environ, problems, filename))
        return items
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (bool, type(None))):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _env_value(node: CommentedMap, path: Path, index: LineIndex, environ: Mapping[str, str],
               problems: list[Problem], filename: str) -> EnvValue | None:
    name = node[ENV_KEY]
    line = index.line_of(path)
    if len(node) != 1 or not isinstance(name, str) or not name:
        problems.append(Problem(filename, line, path, "write an environment reference as {$env: NAME}"))
        return None
    if name not in environ:
        problems.append(Problem(filename, line, path, f"environment variable {name} is not set"))
        return None
    return EnvValue(name, environ[name])
