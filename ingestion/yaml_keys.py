"""Typed reading of YAML configuration, with errors that name the file and the dotted key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration or scenario file is missing a key, has a wrong type or an impossible value."""


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


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
            raise self.fail(key, f"must be {kind}, got {value!r}")
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
