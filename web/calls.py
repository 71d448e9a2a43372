"""How long a route waits for a service: the app's configured call timeout."""

from __future__ import annotations

from flask import current_app


def timeout() -> float:
    """Passed to every client function a route calls; their errors and the runtime's
    (`CallTimeout`, `NoProcess`, `ActorCrashed`) propagate to the error handlers."""
    return current_app.config["BITNEXUS_CALL_TIMEOUT"]
