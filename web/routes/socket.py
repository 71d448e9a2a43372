"""`/socket`: the Phoenix socket's transports, `/socket/websocket` and `/socket/longpoll`.

The token (`?token=`: a user's JWT, an admin's, or the operator token) is checked before
anything is started: a missing, forged or expired one is 403, as Phoenix's `connect/3`
returning `:error`. An accepted WebSocket is answered 101 by the request thread, which
then hands the connection to the socket hub and is free again.
"""

from __future__ import annotations

import socket
import time
from asyncio import AbstractEventLoop

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import BadRequest, Forbidden, NotFound
from wsproto.utilities import generate_accept_token

from supervisors import call, cast
from web.auth import Caller, credentials
from web.realtime import hub, longpoll
from web.realtime.channels import Joined, Transport
from web.realtime.serializer import version
from web.realtime.socket import Disconnected, Text, start_socket
from web.responses import json_response, produces

blueprint = Blueprint("socket", __name__, url_prefix="/socket")


def connect() -> tuple[Caller, str]:  # WebSocket; LongPoll answers in its body instead
    """The caller and serializer version of a connect request, or 403 / 400."""
    vsn = version(request.args.get("vsn"))
    if vsn is None:
        raise BadRequest()
    caller = credentials().caller(request.args.get("token"))
    if caller is None:
        raise Forbidden()
    return caller, vsn


def the_hub() -> hub.Hub:
    return call(hub.NAME, hub.GetHub(), current_app.config["BITNEXUS_CALL_TIMEOUT"])


def joined(transport: Transport, caller: Caller, vsn: str, loop: AbstractEventLoop) -> Joined:
    """What the socket (and its channels) are started with; the socket fills in itself."""
    return Joined(
        socket=None,
        transport=transport,
        vsn=vsn,
        caller=caller,
        credentials=credentials(),
        call_timeout=current_app.config["BITNEXUS_CALL_TIMEOUT"],
        loop=loop,
    )


@blueprint.get("/websocket", websocket=True)
def websocket() -> Response:
    caller, vsn = connect()
    key = request.headers.get("sec-websocket-key")
    upgrade = request.headers.get("upgrade", "").lower()
    if upgrade != "websocket" or not key:
        raise BadRequest()
    raw = request.environ.get("gunicorn.socket")
    if raw is None:
        raise NotFound()  # only the production server can hand a connection over
    sockets = the_hub()
    transport = hub.WebSocketTransport(sockets)
    context = joined(transport, caller, vsn, sockets.loop)

    def hand_over() -> None:
        # Runs once the server has written the 101: the connection is the hub's now, and
        # the host sees a detached socket, which it neither reuses nor closes.
        sock = socket.socket(fileno=raw.detach())
        try:
            ref = start_socket(context)
        except Exception:
            sock.close()
            raise
        sockets.attach(
            transport,
            sock,
            on_text=lambda text: cast(ref, Text(text)),
            on_close=lambda: cast(ref, Disconnected()),
        )

    response = Response(
        status=101,
        headers={
            "upgrade": "websocket",
            "connection": "Upgrade",
            "sec-websocket-accept": generate_accept_token(key.encode()).decode(),
        },
    )
    response.call_on_close(hand_over)
    return response


@blueprint.route("/longpoll", methods=["GET", "POST", "OPTIONS"])
@produces("application/json")
def longpoll_transport() -> Response:
    """Phoenix's LongPoll protocol: always HTTP 200, the outcome in the body's `status`."""
    if request.method == "OPTIONS":
        return _longpoll_json({"status": 200})
    sid = _session_id()
    if request.method == "POST":
        frames = [f for f in request.get_data(as_text=True).splitlines() if f.strip()]
        frames = frames[: longpoll.MAX_BATCH]
        if sid is None:
            return _longpoll_json({"status": 410})
        session = longpoll.find(sid)
        if session is None:
            longpoll.dispatch_elsewhere(sid, frames)
        else:
            session.last_seen = time.monotonic()
            for frame in frames:
                cast(session.socket, Text(frame))
        return _longpoll_json({"status": 200})
    if sid is None:
        return _new_longpoll_session()
    session = longpoll.find(sid)
    timeout = current_app.config["BITNEXUS_CALL_TIMEOUT"]
    frames = (
        session.take(longpoll.WINDOW)
        if session is not None
        else longpoll.poll_elsewhere(sid, timeout)
    )
    if frames is None:
        return _longpoll_json({"status": 410})
    if not frames:
        return _longpoll_json({"status": 204, "token": sid})
    return _longpoll_json({"status": 200, "token": sid, "messages": frames})


def _session_id() -> str | None:
    """The session's id: the client sends it as the last `token` (after the JWT), or in
    the `x-phoenix-longpoll-token` header (newer clients)."""
    candidates = [
        request.headers.get("x-phoenix-longpoll-token", ""),
        *request.args.getlist("token")[1:],
    ]
    found = [c for c in candidates if c.startswith(longpoll.PREFIX)]
    return found[-1] if found else None


def _new_longpoll_session() -> Response:
    tokens = request.args.getlist("token")
    vsn = version(request.args.get("vsn"))
    caller = credentials().caller(tokens[0] if tokens else None)
    if caller is None or vsn is None:
        return _longpoll_json({"status": 403})
    session = longpoll.LongPollTransport()
    try:
        session.socket = start_socket(joined(session, caller, vsn, the_hub().loop))
    except Exception:
        session.close()
        raise
    return _longpoll_json({"status": 410, "token": session.sid, "messages": []})


def _longpoll_json(body: dict) -> Response:
    return json_response(body, 200, {"cache-control": "no-store"})
