"""The benchmarks' bulk generator (benchmarks/generate.py) writes a chain the ledger itself
accepts, signed where the running ledger signs: `make bench`'s scaling and verify_chain
sections measure on it, and nothing else runs it."""

from __future__ import annotations

from benchmarks import database, generate
from bitnexus.ledger import checkpoints
from bitnexus.ledger.verify import verify_chain


def test_a_grown_ledger_verifies_and_its_checkpoints_match_the_chain():
    with database.fresh(ledger_checkpoint_every=3) as (cfg, engine):
        database.wallets(cfg, engine, 20)
        generate.grow(engine, cfg, 5 * generate.BLOCK_SIZE)
        generate.grow(engine, cfg, 2 * generate.BLOCK_SIZE)  # from a signed head onwards
        public = checkpoints.public_hex(checkpoints.load_key(cfg.ledger_signing_key))
        with engine.connect() as conn:
            report = verify_chain(conn)
            signed = checkpoints.all_checkpoints(conn)
            problems = checkpoints.against_chain(conn, signed, public)
    assert report.valid, report
    assert len(signed) >= 2 and problems == []
