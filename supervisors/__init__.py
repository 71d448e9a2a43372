"""OTP-style supervision for Pykka threading actors (and actors on an event loop). Knows nothing
of any application."""

from supervisors.call import call, cast, crash, observe_calls
from supervisors.clock import VirtualClock
from supervisors.errors import (
    ActorCrashed,
    CallTimeout,
    ChildError,
    InvalidSpec,
    NoProcess,
    Rejected,
    Shutdown,
    StartFailed,
    SupervisorError,
)
from supervisors.events import Event, EventLog
from supervisors.loop import LoopWorker
from supervisors.operations import (
    count_children,
    delete_child,
    restart_child,
    start_child,
    terminate_child,
    which_children,
)
from supervisors.registry import whereis
from supervisors.signals import demonitor, exit, link, monitor, unlink
from supervisors.spec import (
    Backoff,
    ChildSpec,
    DynamicSupervisorSpec,
    Pool,
    SupervisorSpec,
    TaskSupervisorSpec,
)
from supervisors.supervisor import DynamicSupervisor, Supervisor, TaskSupervisor
from supervisors.task import Task
from supervisors.tree import Tree, start_tree, walk
from supervisors.worker import Crash, Down, Exit, MonitorRef, Pending, Worker

__all__ = [
    "ActorCrashed",
    "Backoff",
    "CallTimeout",
    "ChildError",
    "ChildSpec",
    "Crash",
    "Down",
    "DynamicSupervisor",
    "DynamicSupervisorSpec",
    "Event",
    "EventLog",
    "Exit",
    "InvalidSpec",
    "LoopWorker",
    "MonitorRef",
    "NoProcess",
    "Pending",
    "Pool",
    "Rejected",
    "Shutdown",
    "StartFailed",
    "Supervisor",
    "SupervisorError",
    "SupervisorSpec",
    "Task",
    "TaskSupervisor",
    "TaskSupervisorSpec",
    "Tree",
    "VirtualClock",
    "Worker",
    "call",
    "cast",
    "count_children",
    "crash",
    "delete_child",
    "demonitor",
    "exit",
    "link",
    "monitor",
    "observe_calls",
    "restart_child",
    "start_child",
    "start_tree",
    "terminate_child",
    "unlink",
    "walk",
    "whereis",
    "which_children",
]
