"""A modal's private_metadata: what it is about, carried from opening to submission. Parsed
once, here, into a typed object."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Metadata:
    incident: int | None = None
    notice: int | None = None
    draft: int | None = None
    step: str | None = None  # a checklist step's id
    field: str | None = None  # a checklist field's id (Fill a gap)
    channel: str = ""  # where the button was pressed

    def incident_id(self) -> int:
        return _required(self.incident, "incident")

    def notice_id(self) -> int:
        return _required(self.notice, "notice")

    def draft_id(self) -> int:
        return _required(self.draft, "draft")

    def dumps(self) -> str:
        return json.dumps({k: v for k, v in dataclasses.asdict(self).items() if v})

    @classmethod
    def of(cls, view: dict) -> Metadata:
        """The view's metadata; ValueError when it is not Baton's (a forged or foreign view)."""
        try:
            data = json.loads(view.get("private_metadata") or "")
            known = {f.name for f in dataclasses.fields(cls)}
            meta = cls(**{k: v for k, v in data.items() if k in known})
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError("not a Baton view's metadata") from exc
        for name in ("incident", "notice", "draft"):
            value = getattr(meta, name)
            if value is not None and not isinstance(value, int):
                raise ValueError(f"metadata {name} is not an id")
        return meta


def _required(value: int | None, name: str) -> int:
    if value is None:
        raise ValueError(f"the view's metadata names no {name}")
    return value
