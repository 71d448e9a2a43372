"""Signed checkpoints through a real server (2 workers): published with their public key,
signed every N blocks and on demand, anchoring proofs; `bitnexus ledger verify` checks
the chain offline against checkpoints an auditor kept, and finds a chain cut short even
when every hash and balance in the database was made consistent again."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import urllib.request

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from live_server import BITNEXUS, start
from prometheus_client.parser import text_string_to_metric_families
from security_support import ENV, OPERATOR, deposit, register

from bitnexus.ledger.hashing import canonical

SEED = "11" * 32
CHECKPOINT_ENV = {
    **ENV,
    "BITNEXUS_LEDGER_SIGNING_KEY": SEED,
    "BITNEXUS_LEDGER_CHECKPOINT_EVERY": "2",
}


@pytest.fixture
def live(engine, database_url, tmp_path):
    server = start(database_url, tmp_path, CHECKPOINT_ENV, workers=2)
    yield server
    server.stop()


def public_key() -> str:
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEED)).public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def ledger_verify(database_url, tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **CHECKPOINT_ENV, "BITNEXUS_DATABASE_URL": database_url}
    return subprocess.run(
        [*BITNEXUS, "ledger", "verify", *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_checkpoints_are_signed_published_and_anchor_proofs(live, database_url, tmp_path):
    alice = register(live, "alice")
    first = deposit(live, alice, "1.00")
    for _ in range(4):
        deposit(live, alice, "1.00")
    on_demand = live.request("POST", "/admin/ledger/checkpoints", None, OPERATOR)
    assert on_demand.status == 201, on_demand.body
    published = live.request("GET", "/api/v1/ledger/checkpoints")  # no token needed
    assert published.status == 200
    document = published.body["data"]
    assert document["public_key"] == public_key()
    key = live.request("GET", "/api/v1/ledger/public-key").body["data"]
    assert key == {"algorithm": "Ed25519", "format": "raw, hex", "public_key": public_key()}
    signed = document["checkpoints"]
    assert len(signed) >= 2 and signed[-1]["index"] == on_demand.body["data"]["index"]
    verifier = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key()))
    for cp in signed:
        text = canonical({"index": cp["index"], "hash": cp["hash"], "signed_at": cp["signed_at"]})
        verifier.verify(bytes.fromhex(cp["signature"]), text)  # raises if forged

    proof = live.request("GET", f"/api/v1/ledger/verify/{first['id']}", None, alice.headers)
    anchor = proof.body["data"]["checkpoint"]
    assert proof.body["data"]["verdict"] == "valid"
    assert anchor["index"] >= first["block_index"] and anchor in signed

    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(document))
    done = ledger_verify(database_url, tmp_path, "--from-checkpoint", str(kept))
    assert done.returncode == 0, done.stderr
    assert (
        "verifying [" in done.stderr and f"{len(signed)} signed checkpoint(s) match" in done.stdout
    )


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_chain_cut_short_is_found_from_kept_checkpoints(live, engine, database_url, tmp_path):
    alice = register(live, "alice")
    for _ in range(4):
        deposit(live, alice, "1.00")
    live.request("POST", "/admin/ledger/checkpoints", None, OPERATOR)
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(live.request("GET", "/api/v1/ledger/checkpoints").body))
    live.stop()
    with engine.begin() as conn:  # a superuser cuts the last two blocks, consistently
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        head = conn.exec_driver_sql("SELECT block_index FROM ledger_head").scalar_one()
        for sql in [
            "DELETE FROM ledger_postings WHERE transaction_id IN "
            "(SELECT id FROM ledger_transactions WHERE block_index > %(k)s)",
            "DELETE FROM ledger_transactions WHERE block_index > %(k)s",
            'DELETE FROM ledger_blocks WHERE "index" > %(k)s',
            "DELETE FROM ledger_checkpoints WHERE block_index > %(k)s",
            "UPDATE ledger_head SET block_index = %(k)s",
            "UPDATE ledger_accounts a SET balance = coalesce((SELECT sum(amount) FROM "
            "ledger_postings p WHERE p.account_id = a.id), 0)",
        ]:
            conn.exec_driver_sql(sql, {"k": head - 2})
    assert ledger_verify(database_url, tmp_path).returncode == 0, "consistent in itself"
    found = ledger_verify(database_url, tmp_path, "--from-checkpoint", str(kept))
    assert found.returncode == 1
    assert "blocks cut off" in found.stderr


def checkpoint_timestamp(server) -> float:
    """`bitnexus_ledger_checkpoint_timestamp_seconds` as /metrics exposes it."""
    with urllib.request.urlopen(server.base + "/metrics", timeout=15) as response:
        text = response.read().decode()
    (value,) = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "bitnexus_ledger_checkpoint_timestamp_seconds"
    ]
    return value


def test_the_checkpoint_age_metric_is_the_newest_checkpoints_also_after_a_restart(
    engine, database_url, tmp_path
):
    env = {**CHECKPOINT_ENV, "BITNEXUS_LEDGER_CHECKPOINT_EVERY": "1000"}
    server = start(database_url, tmp_path, env)
    try:
        deposit(server, register(server, "carol"), "1.00")
        signed = server.request("POST", "/admin/ledger/checkpoints", None, OPERATOR)
        assert signed.status == 201, signed.body
        signed_at = datetime.datetime.fromisoformat(signed.body["data"]["signed_at"])
        assert checkpoint_timestamp(server) == pytest.approx(signed_at.timestamp(), abs=1e-3)
    finally:
        assert server.stop() == 0
    # A new server signs nothing (no block is due): the age still counts from that one.
    server = start(database_url, tmp_path, env)
    try:
        assert checkpoint_timestamp(server) == pytest.approx(signed_at.timestamp(), abs=1e-3)
    finally:
        assert server.stop() == 0
