"""OTP-style supervision for Pykka threading actors. Knows nothing of any application."""

from supervisors.call import call, cast, crash, observe_calls
from supervisors.clock import VirtualClock
from supervisors.errors import (
    ActorCrashed,
    CallTimeout,
    ChildError,
    NoProcess,
    Rejected,
    Shutdown,
    StartFailed,
)
from supervisors.events import Event, EventLog
from supervisors.operations import (
    count_children,
    delete_child,
    restart_child,
    start_child,
    terminate_child,
    which_children,
)
from supervisors.registry import whereis
from supervisors.spec import Backoff, ChildSpec, DynamicSupervisorSpec, Pool, SupervisorSpec
from supervisors.supervisor import DynamicSupervisor, Supervisor
from supervisors.tree import Tree, start_tree, walk
from supervisors.worker import Crash, Pending, Worker

__all__ = [
    "ActorCrashed",
    "Backoff",
    "CallTimeout",
    "ChildError",
    "ChildSpec",
    "Crash",
    "DynamicSupervisor",
    "DynamicSupervisorSpec",
    "Event",
    "EventLog",
    "NoProcess",
    "Pending",
    "Pool",
    "Rejected",
    "Shutdown",
    "StartFailed",
    "Supervisor",
    "SupervisorSpec",
    "Tree",
    "VirtualClock",
    "Worker",
    "call",
    "cast",
    "count_children",
    "crash",
    "delete_child",
    "observe_calls",
    "restart_child",
    "start_child",
    "start_tree",
    "terminate_child",
    "walk",
    "whereis",
    "which_children",
]
