"""YAML from strangers (blueprints, parameter files, bag metadata), loaded with limits.

``yaml.safe_load`` builds no objects, but an 826-byte "billion laughs" file of nested aliases
expands to gigabytes, and thousands of nested brackets end in a ``RecursionError``. Here:
aliases are refused (none of our files needs them), nesting is at most ``max_depth`` levels,
and the text at most ``max_bytes``.
"""
from __future__ import annotations

import yaml

__all__ = ["load", "YamlLimitError"]


class YamlLimitError(ValueError):
    """YAML refused for its shape (aliases, depth, size); the message says which."""


class _Loader(yaml.SafeLoader):
    max_depth = 64

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            ev = self.peek_event()
            raise YamlLimitError(f"YAML aliases are not accepted (alias *{ev.anchor} at line {ev.start_mark.line + 1})")
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise YamlLimitError(f"YAML nested more than {self.max_depth} levels deep (line {mark.line + 1})")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load(text: str, *, max_bytes: int = 1 << 20, max_depth: int = 64):
    """Parse YAML text with the limits of the module doc.

    Raises:
        YamlLimitError: too big, too deep, or with aliases. yaml.YAMLError: not YAML.
    """
    if len(text) > max_bytes:
        raise YamlLimitError(f"YAML text of {len(text)} bytes is larger than the {max_bytes} accepted")
    loader = _Loader(text)
    loader.max_depth = max_depth
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
