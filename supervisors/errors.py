"""What callers of the runtime can get back instead of a reply."""

from __future__ import annotations


class Rejected(Exception):
    """An expected outcome raised by a handler: re-raised in the caller, the actor lives on."""


class CallTimeout(Exception):
    """No reply within the call's timeout."""


class NoProcess(Exception):
    """No process under that name, and none coming (OTP's `noproc`)."""


class ActorCrashed(Exception):
    """The actor died while handling this call or with this call still queued.

    The exit reason is the exception's ``__cause__`` (or ``reason`` for non-exception exits).
    """

    def __init__(self, actor: str, reason: object) -> None:
        super().__init__(f"{actor} crashed: {reason!r}")
        self.actor = actor
        self.reason = reason


class SupervisorError(Exception):
    """A supervisor refused an operation or could not start a child.

    Answered to the caller like a ``Rejected`` (the supervisor lives on), but not one: a
    handler catching domain refusals never swallows it.
    """


class StartFailed(SupervisorError):
    """A child failed to start: OTP's ``{shutdown, {failed_to_start_child, Id, Reason}}``."""

    def __init__(self, child_id: str, reason: object) -> None:
        super().__init__(f"failed to start child {child_id!r}: {reason!r}")
        self.child_id = child_id
        self.reason = reason


class ChildError(SupervisorError):
    """A supervisor operation refused: ``not_found``, ``running``, ``restarting``,
    ``already_present``, ``already_started``, ``max_children`` or ``ambiguous`` (an id
    shared by dynamic children: address one by its ref)."""

    def __init__(self, reason: str, child_id: str | None = None) -> None:
        super().__init__(reason if child_id is None else f"{reason}: {child_id}")
        self.reason = reason
        self.child_id = child_id


# OTP's own name for a refused field (supervisor:check_flags and check_childspec), so the
# error reads as it would in Erlang; a field OTP has no name for is "invalid_<field>".
_OTP_REASONS = {
    "max_restarts": "invalid_intensity",
    "max_seconds": "invalid_period",
    "strategy": "invalid_strategy",
    "restart": "invalid_restart_type",
    "shutdown": "invalid_shutdown",
    "start": "invalid_mfa",
    "args": "invalid_mfa",
    "kwargs": "invalid_mfa",
    "spec": "invalid_child_spec",
}


class InvalidSpec(ValueError):
    """A spec field with a value OTP would refuse: ``field`` is ours, ``reason`` OTP's
    (``invalid_intensity``, ``invalid_period``, ``invalid_shutdown``…)."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field = field
        self.value = value
        self.reason = _OTP_REASONS.get(field, f"invalid_{field}")
        super().__init__(f"{self.reason}: {field}={value!r} (expected {expected})")


class Shutdown(Exception):
    """A deliberate exit, not a failure: a supervisor that gave up exits with this."""


class Killed(Exception):
    """The actor did not stop within its shutdown time and was abandoned."""


def is_normal(reason: object) -> bool:
    """OTP's notion of a non-abnormal exit: normal, shutdown or {shutdown, _}."""
    return reason in ("normal", "shutdown") or isinstance(reason, Shutdown)
