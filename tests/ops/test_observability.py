"""ops/: the alert rules and the Grafana dashboard use metrics the server exposes, and
their expressions are valid PromQL (`promtool check rules`; promtool comes with Debian's
`prometheus` package, installed when missing)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from install_lock import debian_command
from prometheus_client import REGISTRY

# Every module whose metrics /metrics exposes, so that REGISTRY holds them all.
import bitnexus.ledger.metrics  # noqa: F401
import web.app
import web.runtime_metrics
import web.shedding  # noqa: F401

OPS = Path(__file__).resolve().parents[2] / "ops"
SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")


@pytest.fixture(scope="session")
def promtool() -> str:
    return debian_command("promtool", "prometheus")


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((OPS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((OPS / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def exposed_families() -> set[str]:
    return {metric.name for metric in REGISTRY.collect()}


def referenced(expression: str) -> set[str]:
    names = set(re.findall(r"\bbitnexus_[a-z_]+", expression))
    return {next((n.removesuffix(s) for s in SUFFIXES if n.endswith(s)), n) for n in names}


@pytest.mark.parametrize(
    "expression", [rule["expr"] for rule in alert_rules()] + dashboard_expressions()
)
def test_every_metric_used_in_ops_is_exposed(expression):
    assert referenced(expression) <= exposed_families()


def test_the_dashboard_covers_workers_pool_actors_and_the_ledger():
    used = set().union(*(referenced(e) for e in dashboard_expressions()))
    for family in (
        "bitnexus_worker_resident_memory_bytes",
        "bitnexus_worker_cpu_seconds",
        "bitnexus_worker_open_fds",
        "bitnexus_worker_threads",
        "bitnexus_db_pool_checked_out",
        "bitnexus_db_pool_waiting",
        "bitnexus_actor_call_seconds",
        "bitnexus_actor_messages",
        "bitnexus_ledger_head_index",
        "bitnexus_ledger_checkpoint_timestamp_seconds",
        "bitnexus_http_shed",
        "bitnexus_sockets",
        "bitnexus_channels",
    ):
        assert family in used


def test_promtool_accepts_the_alert_rules(promtool):
    done = subprocess.run(
        [promtool, "check", "rules", OPS / "alerts.yml"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(alert_rules())} rules found" in done.stdout


def test_promtool_parses_every_dashboard_expression(promtool, tmp_path):
    recording = [
        {"record": f"dashboard:panel_{i}", "expr": expr}
        for i, expr in enumerate(dashboard_expressions())
    ]
    rules = tmp_path / "dashboard.yml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": recording}]}))
    done = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_checkpoint_alert_fires_on_an_old_checkpoint_and_not_before_the_first(
    promtool, tmp_path
):
    """`promtool test rules`: the gauge is 0 until the first checkpoint (no age yet); one
    signed at t=1 s is stale from t=3601 s, the alert firing 10 minutes later."""
    series = "bitnexus_ledger_checkpoint_timestamp_seconds"
    (stale,) = [r for r in alert_rules() if r["alert"] == "BitnexusLedgerCheckpointStale"]

    def case(value: str, minutes: int, fires: bool) -> dict:
        expected = [{"exp_labels": stale["labels"], "exp_annotations": stale["annotations"]}]
        return {
            "interval": "1m",
            "input_series": [{"series": f'{series}{{instance="app:4000"}}', "values": value}],
            "alert_rule_test": [
                {
                    "eval_time": f"{minutes}m",
                    "alertname": stale["alert"],
                    "exp_alerts": expected if fires else [],
                }
            ],
        }

    tests = {
        "rule_files": [str(OPS / "alerts.yml")],
        "evaluation_interval": "1m",
        "tests": [
            case("0x200", 180, fires=False),  # no checkpoint yet
            case("1x200", 65, fires=False),  # stale for 5 minutes only
            case("1x200", 75, fires=True),
            case("1x100 7000x100", 180, fires=False),  # a new one at t=7000 s
        ],
    }
    unit = tmp_path / "alerts_test.yml"
    unit.write_text(yaml.safe_dump(tests))
    done = subprocess.run([promtool, "test", "rules", unit], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
