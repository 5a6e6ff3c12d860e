"""Typed payloads kept as JSON (an event's detail, an outbox row's params): dataclasses in
code, the same JSON keys in the database as before they were typed, so old rows still load."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Self


@dataclasses.dataclass(frozen=True, kw_only=True)
class Payload:
    # Field name → JSON key, where the key is not a good Python name ("from") or clashes.
    json_names: ClassVar[dict[str, str]] = {}

    def to_json(self) -> dict[str, Any]:
        """An optional field left at None is left out, as the untyped dicts did."""
        return {
            self.json_names.get(f.name, f.name): getattr(self, f.name)
            for f in dataclasses.fields(self)
            if not (f.default is None and getattr(self, f.name) is None)
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        """Keys the class does not know are left out (a row may carry more, such as the
        actor of a thread line); a missing key takes the field's default."""
        known = {}
        for f in dataclasses.fields(cls):
            key = cls.json_names.get(f.name, f.name)
            if key in data:
                known[f.name] = data[key]
        return cls(**known)
