"""The Ledger actor through its messages, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
import sqlalchemy as sa
from ledger_support import (
    TIMEOUT,
    deposit_entry,
    make_user,
    tamper,
    transfer_entry,
    waiting_writers,
    wallet_balances,
    writes_held,
)

from actors import ledger_readers
from actors.errors import NotFound, Unavailable, ValidationFailed
from actors.ledger import LedgerDegraded, Record, SignHead
from actors.ledger_readers import (
    Balances,
    BlockTransactions,
    GetBlock,
    GetTransaction,
    History,
    Verify,
    VerifyChain,
)
from bitnexus import ledger as journal
from bitnexus.ledger.postings import Move
from bitnexus.ledger.schema import (
    ledger_blocks,
    ledger_head,
    ledger_postings,
    ledger_transactions,
)
from bitnexus.ledger.store import Entry
from bitnexus.tree import running
from supervisors import call, whereis


def ledger(message):
    """A read, from the ledger's readers."""
    return call("ledger_readers", message, TIMEOUT)


def record(entry):
    return call("ledger", Record(entry), TIMEOUT)


def test_genesis_block_starts_the_chain(services):
    genesis = ledger(GetBlock(0))
    assert genesis.index == 0 and genesis.transaction_count == 0
    assert genesis.previous_hash == "0" * 64 and genesis.transactions == ()
    assert ledger(VerifyChain()).valid


def test_a_record_is_one_block_with_balances_after(services):
    alice, bob = make_user(), make_user()
    funded = record(deposit_entry(alice, 1000))
    moved = record(transfer_entry(alice, bob, 250, description="rent"))
    assert funded.replayed is False
    tx = moved
    assert tx.kind == "transfer" and tx.status == "posted" and tx.amount == Decimal("2.50")
    assert tx.description == "rent" and tx.block_index == funded.block_index + 1
    assert [(p.user_id, str(p.amount), str(p.balance_after)) for p in tx.postings] == [
        (alice, "-2.50", "7.50"),
        (bob, "2.50", "2.50"),
    ]
    assert ledger(GetTransaction(tx.id)) == tx
    block = ledger(GetBlock(tx.block_index))
    assert block.transactions == (tx,) and block.transaction_count == 1
    assert {k: format(v, "f") for k, v in ledger(Balances(alice)).items()} == {
        "EUR": "7.50",
        "USD": "0.00",
        "NXC": "0.00000000",
    }


def test_world_accounts_go_negative_and_wallets_never(services, engine):
    alice = make_user()
    record(deposit_entry(alice, 500, "NXC"))
    withdrawal = Entry(
        "withdrawal", alice, "NXC", 501, (Move(alice, "NXC", -501), Move(None, "NXC", 501))
    )
    with pytest.raises(ValidationFailed) as refused:
        record(withdrawal)
    assert refused.value.errors == {"amount": ["insufficient funds"]}
    with engine.connect() as conn:
        assert wallet_balances(conn) == {(None, "NXC"): -500, (alice, "NXC"): 500}


def test_postings_to_a_missing_user_are_refused(services):
    alice = make_user()
    record(deposit_entry(alice, 100))
    with pytest.raises(ValidationFailed) as refused:
        record(transfer_entry(alice, 999_999, 50))
    assert refused.value.errors == {"recipient_id": ["does not exist"]}


def test_history_is_newest_first_and_paginated(services):
    alice, bob = make_user(), make_user()
    record(deposit_entry(alice, 1000))
    record(deposit_entry(alice, 7, "USD"))
    ids = [record(transfer_entry(alice, bob, n)).id for n in (1, 2, 3)]
    first = ledger(History(alice, currency="EUR", limit=2))
    assert [item.transaction.id for item in first.items] == ids[:0:-1]
    assert [str(item.amount) for item in first.items] == ["-0.03", "-0.02"]
    assert first.items[0].balance_after == Decimal("9.94")
    rest = ledger(History(alice, currency="EUR", limit=2, cursor=first.next_cursor))
    assert [str(item.amount) for item in rest.items] == ["-0.01", "10.00"]
    assert rest.next_cursor is None
    everything = ledger(History(alice)).items
    assert [item.currency for item in everything] == ["EUR"] * 3 + ["USD", "EUR"]
    with pytest.raises(ValidationFailed) as refused:
        ledger(History(alice, limit=101, cursor="nonsense"))
    assert set(refused.value.errors) == {"limit", "cursor"}


def test_unknown_records_are_not_found(services):
    for message in (
        GetTransaction(12345),
        GetBlock(99),
        BlockTransactions(99),
        BlockTransactions(0),  # genesis posts nothing
        Verify(12345),
        GetBlock(-1),
        Balances("x"),
    ):
        with pytest.raises(NotFound):
            ledger(message)


def test_reads_never_wait_for_the_block_being_written(services, engine):
    alice, bob = make_user(), make_user()
    posted = record(deposit_entry(alice, 1000))
    with writes_held(engine):  # the writer is stuck in its next block until this ends
        pending = whereis("ledger").ask(Record(transfer_entry(alice, bob, 1)), block=False)
        assert ledger(Balances(alice))["EUR"] == Decimal("10.00")
        assert ledger(History(alice)).items[0].transaction.id == posted.id
        assert ledger(GetBlock(posted.block_index)).transaction_count == 1
        assert ledger(Verify(posted.id)).valid
        assert ledger(VerifyChain()).valid
    assert pending.get(timeout=TIMEOUT).amount == Decimal("0.01")


def test_verify_returns_a_merkle_proof_up_to_the_head(services, engine):
    alice, bob = make_user(), make_user()
    record(deposit_entry(alice, 1000))
    ref = whereis("ledger")
    with writes_held(engine):  # the ledger waits: the requests below queue up as one batch
        futures = [ref.ask(Record(transfer_entry(alice, bob, n)), block=False) for n in range(1, 6)]
    txs = [f.get(timeout=TIMEOUT) for f in futures]
    record(deposit_entry(bob, 1))  # a later block, so the proof links forward
    proof = ledger(Verify(txs[2].id))
    assert proof.valid and proof.problems == ()
    assert proof.computed_hash == proof.transaction_hash == txs[2].hash
    assert proof.block.index == txs[2].block_index
    assert proof.merkle_proof  # the third request shares its block with at least three
    with pytest.raises(TypeError):  # the reply is immutable all the way down
        proof.merkle_proof[0]["hash"] = "0" * 64
    assert proof.head_index == proof.block.index + 1


def test_a_proof_reads_the_chain_only_up_to_the_next_signed_checkpoint(services, engine):
    alice = make_user()
    old = record(deposit_entry(alice, 100))
    record(deposit_entry(alice, 1))
    record(deposit_entry(alice, 1))
    signed = call("ledger", SignHead(), TIMEOUT)  # on demand: no race with a due one
    recent = [record(deposit_entry(alice, 1)) for _ in range(3)]
    proof = ledger(Verify(old.id))
    assert proof.valid and proof.checkpoint == signed
    assert old.block_index < signed.index < proof.head_index

    b = ledger_blocks
    _tamper_headers(engine, b.c.index > signed.index)  # every header past the checkpoint
    assert ledger(Verify(old.id)).valid  # a proof that read past its checkpoint would fail
    assert not ledger(Verify(recent[0].id)).valid  # the damage is there to be found
    _tamper_headers(engine, b.c.index == signed.index - 1)  # between block and checkpoint
    damaged = ledger(Verify(old.id))
    assert damaged.problems == (f"block {signed.index - 1}: hash does not match the block header",)


def _tamper_headers(engine, where) -> None:
    b = ledger_blocks
    update = sa.update(b).where(where).values(merkle_root="0" * 64)
    tamper(engine, str(update.compile(engine, compile_kwargs={"literal_binds": True})))


def test_group_commit_puts_a_batch_in_one_block_and_refusals_stay_local(services, engine):
    alice, bob = make_user(), make_user()
    record(deposit_entry(alice, 500))
    ref = whereis("ledger")
    entries = [
        transfer_entry(alice, bob, 300),
        transfer_entry(alice, bob, 300),  # 2.00 left: insufficient
        transfer_entry(alice, bob, 200, idempotency_key="k", request_hash="h"),
        transfer_entry(alice, bob, 200, idempotency_key="k", request_hash="h"),  # replay
        transfer_entry(alice, bob, 1, idempotency_key="k", request_hash="other"),  # reuse
    ] + [deposit_entry(bob, n) for n in range(1, 21)]
    with writes_held(engine):
        futures = [ref.ask(Record(e), block=False) for e in entries]
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.get(timeout=TIMEOUT))
        except ValidationFailed as exc:
            outcomes.append(exc.errors)
    assert outcomes[1] == {"amount": ["insufficient funds"]}
    assert outcomes[4] == {"idempotency_key": ["was already used for another request"]}
    assert outcomes[3] == dataclasses.replace(outcomes[2], replayed=True)
    posted = [o for i, o in enumerate(outcomes) if i not in (1, 3, 4)]
    blocks = {tx.block_index for tx in posted}
    assert len(blocks) <= 2  # the first request may have been taken alone before the rest queued
    counts = [ledger(GetBlock(b)).transaction_count for b in sorted(blocks)]
    assert max(counts) >= len(posted) - 1
    read_back = [tx for b in sorted(blocks) for tx in ledger(BlockTransactions(b))]
    assert read_back == posted  # what the writer replied, postings and all, in block order
    assert ledger(Balances(alice))["EUR"] == Decimal("0.00")
    assert ledger(Balances(bob))["EUR"] == Decimal("7.10")  # 3.00 + 2.00 + 0.01 + ... + 0.20
    assert ledger(VerifyChain()).valid


@pytest.mark.parametrize("table", ["ledger_transactions", "ledger_postings", "ledger_blocks"])
def test_ledger_rows_can_be_neither_updated_nor_deleted(services, engine, table):
    record(deposit_entry(make_user(), 100))
    column = {"ledger_transactions": "amount", "ledger_postings": "amount"}.get(
        table, "transaction_count"
    )
    for statement in (f"UPDATE {table} SET {column} = {column} + 1", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DBAPIError, match="immutable"), engine.begin() as conn:
            conn.exec_driver_sql(statement)


def test_tampering_is_found_and_a_restarted_ledger_refuses_writes(config, engine):
    with running(config, engine):
        alice, bob = make_user(), make_user()
        record(deposit_entry(alice, 1000))
        target = record(transfer_entry(alice, bob, 100))
        record(transfer_entry(alice, bob, 100))
    p = ledger_postings
    tamper(
        engine,
        str(
            sa.update(p)
            .where(p.c.transaction_id == target.id, p.c.position == 1)
            .values(amount=p.c.amount + 100)
            .compile(engine, compile_kwargs={"literal_binds": True})
        ),
    )
    with running(config, engine) as app:
        node = next(c for c in _nodes(app.tree.tree()) if c["id"] == "ledger")
        assert node["status"] == "degraded"
        assert f"block {target.block_index}" in node["degraded_reason"]
        with pytest.raises(LedgerDegraded, match=f"block {target.block_index}"):
            record(deposit_entry(alice, 1))
        proof = ledger(Verify(target.id))
        assert not proof.valid
        assert proof.computed_hash != proof.transaction_hash
        report = ledger(VerifyChain())
        assert not report.valid and report.first_bad_block == target.block_index
        assert report.balance_mismatches  # bob's balance is no longer the sum of postings


def test_a_damaged_older_block_is_reported_by_verify_chain(services, engine):
    alice = make_user()
    first = record(deposit_entry(alice, 100))
    record(deposit_entry(alice, 100))
    b = ledger_blocks
    tamper(
        engine,
        str(
            sa.update(b)
            .where(b.c.index == first.block_index)
            .values(merkle_root="0" * 64)
            .compile(engine, compile_kwargs={"literal_binds": True})
        ),
    )
    report = ledger(VerifyChain())
    assert report.first_bad_block == first.block_index
    assert "merkle_root" in report.reason
    with engine.connect() as conn:  # recorded before the reply, so every process refuses
        assert "merkle_root" in journal.degraded.reason(conn)
    assert not ledger(Verify(first.id)).valid
    with pytest.raises(LedgerDegraded):  # a failed verify_chain stops writes at once
        record(deposit_entry(alice, 1))


def test_transaction_rows_carry_the_block_they_were_committed_in(services, engine):
    record(deposit_entry(make_user(), 100))
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(ledger_transactions.c.block_index, ledger_transactions.c.position)
        ).all()
    assert rows == [(1, 0)]


def _nodes(node):
    yield node
    for child in node.get("children", ()):
        yield from _nodes(child)


@pytest.mark.parametrize("backend", ["postgresql"])  # needs a second session to kill
def test_a_batch_whose_commit_fails_is_told_nothing_was_posted(services, engine):
    alice, bob = make_user(), make_user()
    record(deposit_entry(alice, 1000))
    entries = [
        transfer_entry(alice, bob, 1, idempotency_key=f"k{n}", request_hash="h") for n in range(6)
    ]
    ref = whereis("ledger")
    with engine.connect() as holder, holder.begin():
        holder.execute(sa.select(ledger_head.c.block_index).with_for_update()).all()
        first = ref.ask(Record(entries[0]), block=False)
        writer = waiting_writers(holder)[0]  # the ledger, with a batch of one
        rest = [ref.ask(Record(e), block=False) for e in entries[1:]]  # queued: the next batch
        holder.exec_driver_sql(f"SELECT pg_terminate_backend({writer}, 5000)")
        writer = waiting_writers(holder)[0]
        holder.exec_driver_sql(f"SELECT pg_terminate_backend({writer}, 5000)")
        for future in [first, *rest]:
            with pytest.raises(Unavailable):
                future.get(timeout=TIMEOUT)
    keys = sa.select(sa.func.count()).where(ledger_transactions.c.idempotency_key.is_not(None))
    with engine.connect() as conn:
        assert conn.execute(keys).scalar() == 0
    assert [record(e).replayed for e in entries] == [False] * 6  # a retry posts
    assert [record(e).replayed for e in entries] == [True] * 6  # exactly once
    assert ledger(VerifyChain()).valid


def test_a_long_chain_is_walked_in_a_process_of_its_own(services, engine, monkeypatch):
    alice = make_user()
    record(deposit_entry(alice, 100))
    monkeypatch.setattr(ledger_readers, "WALK_ELSEWHERE_BLOCKS", 0)  # every chain is long
    monkeypatch.setattr(journal, "verify_chain", None)  # not walked in this process
    assert ledger(VerifyChain()).valid
    tamper(engine, "UPDATE ledger_accounts SET balance = balance + 1")
    assert ledger(VerifyChain()).balance_mismatches
    with pytest.raises(LedgerDegraded):
        record(deposit_entry(alice, 1))


FAIL_WRITE = """
CREATE OR REPLACE FUNCTION bench_fail_write() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'write refused' USING ERRCODE = '08006'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER fail_write BEFORE INSERT ON ledger_transactions FOR EACH ROW
WHEN (NEW.description = 'fail-me') EXECUTE FUNCTION bench_fail_write();
"""


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_failed_block_fails_its_callers_and_the_next_sees_the_chain_without_it(config, engine):
    with engine.begin() as conn:
        conn.exec_driver_sql(FAIL_WRITE)
    try:
        with running(dataclasses.replace(config, ledger_batch_max=1), engine):
            carol, dave = make_user(), make_user()
            ref = whereis("ledger")
            with writes_held(engine):  # both queue: one block each, the second behind
                failing = ref.ask(
                    Record(deposit_entry(carol, 10, description="fail-me")), block=False
                )
                spending = ref.ask(Record(transfer_entry(carol, dave, 5)), block=False)
            with pytest.raises(Unavailable):
                failing.get(timeout=TIMEOUT)
            with pytest.raises(ValidationFailed) as refused:  # the deposit never happened
                spending.get(timeout=TIMEOUT)
            assert refused.value.errors == {"amount": ["insufficient funds"]}
            assert record(deposit_entry(carol, 10)).amount == Decimal("0.10")
            assert ledger(Balances(carol))["EUR"] == Decimal("0.10")
            assert ledger(VerifyChain()).valid
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS fail_write ON ledger_transactions")


@pytest.mark.parametrize("backend", ["postgresql"])
def test_requests_queued_while_the_head_is_awaited_join_the_block(services, engine):
    alice, bob = make_user(), make_user()
    record(deposit_entry(alice, 1000))
    ref = whereis("ledger")
    with engine.connect() as holder, holder.begin():  # another writer's block, say
        holder.execute(sa.select(ledger_head.c.block_index).with_for_update()).all()
        first = ref.ask(Record(transfer_entry(alice, bob, 1)), block=False)
        waiting_writers(holder)  # the ledger waits for the head with a batch of one
        rest = [ref.ask(Record(transfer_entry(alice, bob, n)), block=False) for n in range(2, 6)]
    posted = [f.get(timeout=TIMEOUT) for f in [first, *rest]]
    assert len({tx.block_index for tx in posted}) == 1
    assert [tx.amount for tx in posted] == [Decimal(f"0.0{n}") for n in range(1, 6)]
    assert ledger(VerifyChain()).valid
