"""Phoenix's JSON serializers: V2 frames are arrays, V1 frames are objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

VERSIONS = {"1": "1.0.0", "2": "2.0.0"}  # major version -> the one we speak


class BadFrame(Exception):
    """Not a frame of the socket's serializer."""


@dataclass(frozen=True)
class Frame:
    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: Any


def version(vsn: str | None) -> str | None:
    """The serializer for a client's `vsn` (Phoenix matches "~> 1.0.0" / "~> 2.0.0")."""
    major = (vsn or "1.0.0").split(".", 1)[0]
    return VERSIONS.get(major)


def decode(text: str, vsn: str) -> Frame:
    try:
        raw = json.loads(text)
    except ValueError:
        raise BadFrame("not JSON") from None
    if vsn == "2.0.0":
        if not isinstance(raw, list) or len(raw) != 5:
            raise BadFrame("a V2 frame is [join_ref, ref, topic, event, payload]")
        join_ref, ref, topic, event, payload = raw
    else:
        if not isinstance(raw, dict):
            raise BadFrame("a V1 frame is an object")
        join_ref, ref = raw.get("join_ref"), raw.get("ref")
        topic, event, payload = raw.get("topic"), raw.get("event"), raw.get("payload")
    if not (isinstance(topic, str) and isinstance(event, str)):
        raise BadFrame("topic and event are strings")
    if not all(r is None or isinstance(r, str | int) for r in (join_ref, ref)):
        raise BadFrame("refs are strings")
    return Frame(_ref(join_ref), _ref(ref), topic, event, payload)


def encode(frame: Frame, vsn: str) -> str:
    if vsn == "2.0.0":
        raw: Any = [frame.join_ref, frame.ref, frame.topic, frame.event, frame.payload]
    else:
        raw = {
            "join_ref": frame.join_ref,
            "ref": frame.ref,
            "topic": frame.topic,
            "event": frame.event,
            "payload": frame.payload,
        }
    return json.dumps(raw, separators=(",", ":"))


def _ref(value: object) -> str | None:
    return None if value is None else str(value)
