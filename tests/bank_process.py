"""One OS process of the multi-process bank test: its own tree on the shared database.

    python tests/bank_process.py PREFIX SEED USER_IDS THREADS TRANSFERS

The database and settings come from the BITNEXUS_* environment. Runs THREADS clients of
TRANSFERS random transfers each among USER_IDS (comma-separated) under chaos, then
prints {idempotency key: transaction id} of the posted transfers as one JSON line.
"""

from __future__ import annotations

import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from bank_support import chaos, chaos_spec, transfers

from bitnexus.config import Config
from bitnexus.database.engine import make_engine
from supervisors import start_tree


def main(prefix: str, seed: int, users: list[int], threads: int, count: int) -> dict[str, int]:
    config = Config.from_env()
    engine = make_engine(config)
    tree = start_tree(chaos_spec(config, engine))
    try:
        stop = threading.Event()
        with ThreadPoolExecutor(threads + 1) as pool:
            chaos_done = pool.submit(chaos, stop, seed)
            try:
                clients = [
                    pool.submit(transfers, users, count, seed * 1000 + n, f"{prefix}-t{n}")
                    for n in range(threads)
                ]
                posted = {k: v for c in clients for k, v in c.result().items()}
            finally:
                stop.set()
            chaos_done.result()
        return posted
    finally:
        tree.stop()
        engine.dispose()


if __name__ == "__main__":
    prefix, seed, user_ids, threads, count = sys.argv[1:]
    users = [int(u) for u in user_ids.split(",")]
    print(json.dumps(main(prefix, int(seed), users, int(threads), int(count))))
