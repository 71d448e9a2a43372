"""Drill 6, generated: Schemathesis against the live server's OpenAPI document, stateful
(operations chained through the ids they return) and authenticated as an admin. No 5xx,
and every answer conforms to the document. A short budget in `make test`, a long one in
`make chaos` (many short runs)."""

from __future__ import annotations

import time

import schemathesis
from drill_check import Summary
from drill_http import bearer
from drill_mode import pick
from drill_report import record
from drill_server import SECRET, make_admin
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    status_code_conformance,
)

from web import tokens

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]


def test_stateful_schemathesis_run(server):
    admin = bearer(tokens.issue(SECRET, make_admin(server), "admin", generation=0))
    schema = schemathesis.openapi.from_url(f"{server.base}/api/openapi.json")
    calls: list[int] = []

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            return {"headers": admin, "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            calls.append(response.status_code)
            case.validate_response(response, checks=CHECKS)

    started = time.monotonic()
    inconclusive = 0
    for _ in range(int(pick(1, 20))):  # short runs: see below
        try:
            Machine.run(
                settings=settings(
                    max_examples=15,
                    stateful_step_count=int(pick(5, 10)),
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate],
                )
            )
        except FlakyStrategyDefinition:
            # A live server's state moves on (balances, deleted users), so which links
            # apply changes between examples and Hypothesis refuses the run as flaky.
            # Many short runs keep that rare; a refused run found nothing, so go on.
            inconclusive += 1
    summary = Summary("6 schemathesis stateful")
    summary.figures.update(
        calls=len(calls),
        seconds=round(time.monotonic() - started, 1),
        statuses=sorted({str(c) for c in calls}),
        server_errors=sum(c >= 500 for c in calls),
        runs_refused_as_flaky=inconclusive,
    )
    record(summary)
    assert calls and not summary.figures["server_errors"]
