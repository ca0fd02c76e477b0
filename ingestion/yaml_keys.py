"""Typed reading of YAML configuration, with errors that name the file and the dotted key.

An error never shows the value of a secret-like key (`is_secret_key`), nor the text of a line YAML could not
read (it may be such a value): it names the key, or the line and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

_SECRET_KEY = re.compile(r"token|password|passwd|secret|api_?key|credential", re.IGNORECASE)
_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*\Z")


class ConfigError(ValueError):
    """A configuration or scenario file is missing a key, has a wrong type or an impossible value."""


def is_secret_key(key: str) -> bool:
    """Whether a key's value may be a secret, or the name of one (`bearer_token_env`, `basic_auth_password_env`)."""
    return _SECRET_KEY.search(key) is not None


def is_env_name(name: str) -> bool:
    """Whether `name` reads as an environment variable's NAME (`PROM_TOKEN`): upper-case words of at most 16
    characters joined by `_`. A token pasted in its place (`sk-...`, `AKIAIOSFODNN7EXAMPLE`, a hex string) is not."""
    return _ENV_NAME.match(name) is not None and all(len(word) <= 16 for word in name.split("_"))


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:  # its text quotes the offending line, which may hold a secret
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None


class KeyReader:
    """Reads keys from a mapping, naming the file and dotted key in every error."""

    def __init__(self, data: Any, where: str, path: Path):
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: '{where or '<root>'}' must be a mapping, got {type(data).__name__}")
        self.data, self.where, self.path = data, where, path

    def key(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: '{self.key(key)}' {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise ConfigError(f"{self.path}: missing key '{self.key(key)}'")
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            shown = f"a {type(value).__name__}" if is_secret_key(key) else repr(value)
            raise self.fail(key, f"must be {kind}, got {shown}")
        return value

    def sub(self, key: str, default: Any = ...) -> KeyReader:
        return KeyReader(self.get(key, dict, default), self.key(key), self.path)

    def each(self, key: str, default: Any = ...) -> list[KeyReader]:
        """The mappings of a list under `key`, each a reader named `key[i]`."""
        return [KeyReader(item, f"{self.key(key)}[{i}]", self.path)
                for i, item in enumerate(self.get(key, list, default))]

    def unknown(self, allowed: set[str]) -> None:
        """Refuse keys this reader does not know: a typo is an error, not a silently ignored setting."""
        extra = sorted(set(self.data) - allowed)
        if extra:
            raise self.fail(extra[0], f"is not a known key (known: {sorted(allowed)})")
