"""The socket: one actor per connected client, as Phoenix's socket process.

Started under the `sockets` dynamic supervisor (temporary) once the transport is
authenticated. It answers heartbeats, starts a channel under `channels` for each
`phx_join`, routes a joined topic's events to its channel, answers any other topic with
"unmatched topic", and tells the client `phx_error` when one of its channels crashes.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from dataclasses import dataclass
from typing import Any

from actors import pubsub
from supervisors import CallTimeout, ChildSpec, LoopWorker, NoProcess, cast, start_child
from web.realtime.channels import (
    ChannelDown,
    ClientEvent,
    Close,
    Forget,
    Join,
    Joined,
    Leave,
    channel_for,
)
from web.realtime.serializer import BadFrame, Frame, decode, encode

logger = logging.getLogger("bitnexus.sockets")

SOCKETS = "sockets"  # the dynamic supervisors' registered names
CHANNELS = "channels"
MAX_CHANNELS = 100  # topics one socket may join: each is an actor
_ids = itertools.count(1)


@dataclass(frozen=True)
class Text:
    """A text message from the client."""

    text: str


@dataclass(frozen=True)
class Disconnected:
    """The transport is gone."""


class Socket(LoopWorker):
    """Routes one client's frames; owns nothing but the map of its joined topics.

    It runs on the socket hub's loop; frames that may join (a call to the `channels`
    supervisor) are handled off it.
    """

    def __init__(self, joined: Joined) -> None:
        super().__init__(joined.loop)
        self.ctx = dataclasses.replace(joined, socket=self.actor_ref)
        self.transport = joined.transport
        self.channels: dict[str, tuple[str | None, Any]] = {}  # topic -> (join_ref, ref)

    def init(self) -> None:
        if self.transport.control_topic is not None:
            pubsub.subscribe(self.transport.control_topic, self.actor_ref, self.ctx.call_timeout)

    def blocks(self, message: object) -> bool:
        match message:
            case Text(text=text):
                return "phx_join" in text
            case pubsub.Delivered(event="dispatch"):
                return True
        return False

    def handle(self, message: object) -> object:
        match message:
            case Text(text=text):
                self._frame(text)
            case pubsub.Delivered(event="dispatch", payload=payload):
                for text in payload["frames"]:  # a LongPoll POST that reached another worker
                    self._frame(text)
            case pubsub.Delivered(event=event, payload=payload):
                self.transport.control(event, payload)
            case Disconnected():
                self.stop()
            case ChannelDown(topic=topic, join_ref=join_ref):
                if self._forget(topic, join_ref):
                    self._send(Frame(join_ref, join_ref, topic, "phx_error", {}))
            case Forget(topic=topic, join_ref=join_ref):
                self._forget(topic, join_ref)
            case _:
                return super().handle(message)
        return None

    def terminate(self) -> None:
        if self.transport.control_topic is not None:
            pubsub.unsubscribe(self.transport.control_topic, self.actor_ref)
        for _join_ref, ref in self.channels.values():
            cast(ref, Close(notify=False))
        self.transport.close()

    def _frame(self, text: str) -> None:
        try:
            frame = decode(text, self.ctx.vsn)
        except BadFrame as exc:
            logger.info("closing a socket that sent a bad frame: %s", exc)
            self.transport.close(1007)
            return
        if frame.topic == "phoenix" and frame.event == "heartbeat":
            self._reply(frame, "ok", {})
        elif frame.event == "phx_join":
            self._join(frame)
        elif frame.topic in self.channels:
            ref = self.channels[frame.topic][1]
            if frame.event == "phx_leave":
                del self.channels[frame.topic]
                cast(ref, Leave(frame))
            else:
                cast(ref, ClientEvent(frame))
        else:
            self._reply(frame, "error", {"reason": "unmatched topic"})

    def _join(self, frame: Frame) -> None:
        kind = channel_for(frame.topic)
        if kind is None:
            self._reply(frame, "error", {"reason": "unmatched topic"})
            return
        if frame.topic not in self.channels and len(self.channels) >= MAX_CHANNELS:
            self._reply(frame, "error", {"reason": "too many channels"})
            return
        if frame.topic in self.channels:  # Phoenix: the new join replaces the old channel
            _old_ref, old = self.channels.pop(frame.topic)
            cast(old, Close(notify=True))
        spec = ChildSpec(
            id=f"channel-{next(_ids)}-{frame.topic}",
            start=kind,
            args=(frame.topic, frame.join_ref, self.ctx),
            restart="temporary",
        )
        try:
            ref = start_child(CHANNELS, spec, self.ctx.call_timeout)
        except (CallTimeout, NoProcess):  # overloaded or restarting: the client rejoins later
            self._reply(frame, "error", {"reason": "unavailable"})
            return
        self.channels[frame.topic] = (frame.join_ref, ref)
        cast(ref, Join(frame))

    def _forget(self, topic: str, join_ref: str | None) -> bool:
        current = self.channels.get(topic)
        if current is None or current[0] != join_ref:
            return False
        del self.channels[topic]
        return True

    def _reply(self, frame: Frame, status: str, response: Any) -> None:
        payload = {"status": status, "response": response}
        self._send(Frame(frame.join_ref, frame.ref, frame.topic, "phx_reply", payload))

    def _send(self, frame: Frame) -> None:
        self.transport.send(encode(frame, self.ctx.vsn))


def start_socket(joined: Joined) -> Any:
    """A new socket actor under `sockets` (``joined.socket`` is filled in); its ref."""
    spec = ChildSpec(id=f"socket-{next(_ids)}", start=Socket, args=(joined,), restart="temporary")
    return start_child(SOCKETS, spec, joined.call_timeout)
