"""Operator endpoints over this worker's live tree, and the `/admin` page drawing it."""

from __future__ import annotations

import os

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import NotFound, ServiceUnavailable

from actors import ledger
from supervisors import Tree, crash, restart_child, terminate_child, which_children
from web import render, security_headers
from web.auth import authenticate_operator
from web.calls import timeout
from web.responses import data, json_response, produces
from web.runtime import runtime

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

OPERATION_TIMEOUT = 15.0  # a terminate waits up to the child's shutdown time (5 s default)
VERIFY_TIMEOUT = 120.0  # the whole chain from genesis: grows with the ledger


@blueprint.before_request
def operator_only() -> None:
    token = request.args.get("token") if request.endpoint == "admin.page" else None
    authenticate_operator(token)


blueprint.after_request(security_headers.apply_admin)


@blueprint.get("")
@produces("text/html")
def page() -> str:
    tree = _tree().tree()
    return render_template("admin.html", tree=tree, pid=os.getpid(), nonce=security_headers.nonce())


@blueprint.get("/supervision")
def supervision() -> Response:
    return data({**_tree().tree(), "pid": os.getpid()})


@blueprint.get("/supervision/events")
def events() -> Response:
    after = request.args.get("after", "0")
    seq = int(after) if after.isascii() and after.isdigit() else 0
    tree = _tree()
    return json_response({"data": tree.events(seq), "meta": {"last_seq": tree.log.last_seq}})


@blueprint.post("/supervision/<path:path>/restart")
def restart(path: str) -> Response:
    """Restart the node: terminate it first if it runs (OTP's restart_child needs that)."""
    supervisor, child_id = _tree().supervisor_at(path)
    if _child_ref(supervisor.actor_ref, child_id) is not None:
        terminate_child(supervisor.actor_ref, child_id, OPERATION_TIMEOUT)
    restart_child(supervisor.actor_ref, child_id, OPERATION_TIMEOUT)
    return data({"path": path, "action": "restart", "pid": os.getpid()})


@blueprint.post("/supervision/<path:path>/terminate")
def terminate(path: str) -> Response:
    supervisor, child_id = _tree().supervisor_at(path)
    terminate_child(supervisor.actor_ref, child_id, OPERATION_TIMEOUT)
    return data({"path": path, "action": "terminate", "pid": os.getpid()})


@blueprint.post("/supervision/<path:path>/crash")
def crash_node(path: str) -> Response:
    """Make the node fail through its real failure path; its supervisor decides."""
    supervisor, child_id = _tree().supervisor_at(path)
    ref = _child_ref(supervisor.actor_ref, child_id)
    if ref is None:
        raise NotFound()  # not running: nothing to crash
    crash(ref, f"crash requested by operator at {path}")
    return data({"path": path, "action": "crash", "pid": os.getpid()}, 202)


@blueprint.get("/ledger/verify")
def verify_ledger() -> Response:
    """The whole chain from genesis, and every balance against its postings."""
    # An explicit operator action: it takes what the chain takes (tens of seconds for tens
    # of thousands of transactions, longer than a request's call timeout), in a ledger
    # reader: the ledger's writes go on meanwhile.
    return data(render.chain_report(ledger.verify_chain(timeout=VERIFY_TIMEOUT)))


@blueprint.post("/ledger/checkpoints")
def checkpoint() -> Response:
    """Sign the current head now."""
    return data(render.checkpoint(ledger.checkpoint(timeout=timeout())), 201)


def _tree() -> Tree:
    tree = runtime().tree
    if tree is None:
        raise ServiceUnavailable()
    return tree


def _child_ref(supervisor: object, child_id: str) -> object | None:
    for cid, ref, _kind, _modules in which_children(supervisor, timeout()):
        if cid == child_id:
            return ref if ref not in (None, "restarting") else None
    raise NotFound()
