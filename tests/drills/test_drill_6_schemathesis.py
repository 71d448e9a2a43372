"""Drill 6, generated: Schemathesis against the live server's OpenAPI document, stateful
(operations chained through the ids they return) and authenticated as an admin. No 5xx,
and every answer conforms to the document (status, content type, headers, body schema).
A short budget in `make test`, a long one in `make chaos` (many short runs).

Against a live server the same steps never meet the same state twice, so nothing may
depend on Hypothesis repeating them. Failures are collected as each answer is checked,
never raised: raised, Hypothesis would replay the steps, the replay would diverge, and
the run would end "flaky" with the failure lost. Hypothesis may still end a run early as
flaky when two of its examples share a prefix that met different state (as Schemathesis'
own runner, the drill then starts another run): that cuts the run's budget short but can
hide nothing, so runs go on until the call budget is spent (bounded)."""

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
    response_schema_conformance,
    status_code_conformance,
)

from web import tokens

MAX_RUNS = 400  # bounded, whatever Hypothesis does
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def test_stateful_schemathesis_run(server):
    admin = bearer(tokens.issue(SECRET, make_admin(server), "admin", generation=0))
    schema = schemathesis.openapi.from_url(f"{server.base}/api/openapi.json")
    calls: list[int] = []
    failures: list[str] = []

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case):
            return {"headers": admin, "timeout": 30}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            calls.append(response.status_code)
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, BaseExceptionGroup) as exc:  # kept, so nothing is replayed
                failures.append(f"{case.method} {case.formatted_path}: {exc}"[:2000])

    started = time.monotonic()
    budget, runs, cut_short = int(pick(60, 2000)), 0, 0
    while len(calls) < budget and runs < MAX_RUNS:
        runs += 1
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
            cut_short += 1  # every answer so far was checked: see the docstring
    summary = Summary("6 schemathesis stateful")
    summary.figures.update(
        calls=len(calls),
        seconds=round(time.monotonic() - started, 1),
        statuses=sorted({str(c) for c in calls}),
        server_errors=sum(c >= 500 for c in calls),
        failures=len(failures),
        runs=runs,
        runs_cut_short_as_flaky=cut_short,
    )
    summary.violations += failures[:10]
    if len(calls) < budget:
        summary.violations.append(f"{len(calls)} calls in {runs} runs, budget {budget}")
    if not any(200 <= c < 300 for c in calls):
        summary.violations.append("no call succeeded: the run never got past authentication")
    record(summary)
    assert not summary.violations
