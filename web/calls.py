"""One message to one named actor, waited for within the configured call timeout."""

from __future__ import annotations

from typing import Any

from flask import current_app

from supervisors import call


def ask(name: str, message: object) -> Any:
    """The actor's reply; its `Rejected`, `CallTimeout`, `NoProcess` or `ActorCrashed`
    propagate to the error handlers."""
    return call(name, message, current_app.config["BITNEXUS_CALL_TIMEOUT"])
