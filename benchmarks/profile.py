"""A target for the profilers: the ledger actor under C client threads for a while.

    py-spy record --gil -r 250 -o ledger.svg -- .venv/bin/python -m benchmarks.profile 32
    .venv/bin/pyinstrument -m benchmarks.profile 32

(--gil keeps only samples holding the GIL: where the Python time goes; without it the
ledger thread shows mostly as waiting on PostgreSQL.)
"""

from __future__ import annotations

import sys

from benchmarks import database, ledger


def main(clients: int) -> None:
    database.start()
    with database.fresh() as (cfg, engine):
        ids = database.wallets(cfg, engine, ledger.WALLETS)
        with ledger._tree(cfg, engine):
            result, block = ledger.run_actor(engine, ids, clients)
    print(
        f"{clients} threads: {result.rate:,.0f} transfers/s, p50 {result.percentile(50):.1f} ms, "
        f"p99 {result.percentile(99):.1f} ms, block {block:.1f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 32)
